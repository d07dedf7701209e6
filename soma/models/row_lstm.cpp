#include "soma/models/row_lstm.h"

#include "soma/ops/shape.h"

namespace soma::models {

RowLstm::RowLstm(int64_t channels, int64_t width, RowLstmOptions options) {
  lstm_ =
      std::make_shared<nn::LSTM>(channels * width, options.hidden,
                                 nn::RnnOptions{.num_layers = options.layers, .batch_first = true});
  fc_ = std::make_shared<nn::Linear>(options.hidden, options.classes);
  register_module("lstm", lstm_);
  register_module("fc", fc_);
}

Tensor RowLstm::forward(const Tensor& x) {
  SOMA_CHECK(x.dim() == 4 && x.size(1) * x.size(3) == lstm_->input_size(),
             "row_lstm: expected images [N, C, H, W] with C·W = ", lstm_->input_size(), ", found ",
             to_string(x.shape()));
  const int64_t n = x.size(0), rows = x.size(2);
  // [N, C, H, W] → [N, H, C·W]: a row of every channel per step.
  const Tensor steps = x.size(1) == 1 ? x.reshape({n, rows, x.size(3)})
                                      : permute(x, {0, 2, 1, 3}).reshape({n, rows, -1});
  const nn::RnnState last = lstm_->forward(steps, {}).second;
  const int64_t layers = lstm_->options().num_layers;
  return (*fc_)(slice(last.h, 0, layers - 1, 1).reshape({n, lstm_->hidden_size()}));
}

}  // namespace soma::models
