#pragma once
// The layers that join a graph's branches, as Keras names them: Add and Multiply take tensors of
// one shape elementwise (a residual connection, a gate); Concatenate joins them along a dim (a
// U-Net's skip connection). Each reads two or more tensors through forward_inputs.
#include "soma/nn/module.h"

namespace soma::nn {

// The base of the merges: forward() on one tensor is an error naming the layer.
class Merge : public Module {
 public:
  Tensor forward(const Tensor& x) override;

 protected:
  // Throws soma::Error unless there are two or more inputs, all of one shape (with `except_dim`,
  // equal but in that dim, which must be valid for them).
  void check_inputs(const std::vector<Tensor>& inputs, int64_t except_dim = -1) const;
};

// a + b (+ ...): inputs of one shape.
class Add : public Merge {
 public:
  Tensor forward_inputs(const std::vector<Tensor>& inputs) override;
  std::string kind() const override { return "add"; }
};

// a ⊙ b (⊙ ...): inputs of one shape.
class Multiply : public Merge {
 public:
  Tensor forward_inputs(const std::vector<Tensor>& inputs) override;
  std::string kind() const override { return "multiply"; }
};

// The inputs joined along `dim` (counted with the batch dim, as torch.cat: 1 is the channels of
// images [N, C, H, W]; negative counts from the end); they agree in every other dim.
class Concatenate : public Merge {
 public:
  explicit Concatenate(int64_t dim = 1) : dim_(dim) {}
  Tensor forward_inputs(const std::vector<Tensor>& inputs) override;
  std::string kind() const override { return "concat"; }
  int64_t dim() const { return dim_; }

 private:
  int64_t dim_;
};

}  // namespace soma::nn
