#include "soma/models/char_lstm.h"

#include "soma/ops/dropout.h"

namespace soma::models {

CharLstm::CharLstm(int64_t vocabulary, CharLstmOptions options)
    : vocabulary_(vocabulary), dropout_(options.dropout) {
  embedding_ = std::make_shared<nn::Embedding>(vocabulary, options.embedding);
  lstm_ = std::make_shared<nn::LSTM>(
      options.embedding, options.hidden,
      nn::RnnOptions{.num_layers = options.layers, .batch_first = true, .dropout = options.dropout});
  head_ = std::make_shared<nn::Linear>(options.hidden, vocabulary);
  register_module("embedding", embedding_);
  register_module("lstm", lstm_);
  register_module("head", head_);
}

Tensor CharLstm::forward(const Tensor& x) { return forward(x, {}).first; }

std::pair<Tensor, nn::RnnState> CharLstm::forward(const Tensor& x, const nn::RnnState& state) {
  SOMA_CHECK(x.dim() == 2 && x.dtype() == DType::I64,
             "char_lstm: expected character indices [N, T] (i64), found ", to_string(x.shape()),
             " ", name_of(x.dtype()));
  auto [hidden, final] = lstm_->forward((*embedding_)(x), state);
  if (dropout_ > 0) hidden = dropout(hidden, dropout_, is_training());
  return {(*head_)(hidden), final};
}

}  // namespace soma::models
