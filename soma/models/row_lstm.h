#pragma once
// An image classifier that reads an image [C, H, W] row by row: H steps of C·W values into an
// LSTM, and a linear layer on its last state (MNIST as 28 steps of 28 pixels). Names "lstm.*" and
// "fc.*".
#include "soma/nn/linear.h"
#include "soma/nn/rnn.h"

namespace soma::models {

struct RowLstmOptions {
  int64_t hidden = 128;
  int64_t layers = 1;
  int64_t classes = 10;
};

class RowLstm : public nn::Module {
 public:
  // For images of `channels` × `width` values per row.
  RowLstm(int64_t channels, int64_t width, RowLstmOptions options = {});
  // x [N, C, H, W] → logits [N, classes].
  Tensor forward(const Tensor& x) override;
  std::string kind() const override { return "row_lstm"; }

 private:
  std::shared_ptr<nn::LSTM> lstm_;
  std::shared_ptr<nn::Linear> fc_;
};

}  // namespace soma::models
