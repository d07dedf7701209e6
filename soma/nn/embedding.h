#pragma once
// nn::Embedding: a table of learned vectors looked up by index, as torch.nn.Embedding; the input
// layer of language models. Weight [num_embeddings, dim].
#include "soma/nn/module.h"

namespace soma::nn {

struct EmbeddingOptions {
  int64_t padding_idx = -1;  // this row stays zero and gets no gradient; -1: none
};

class Embedding : public Module {
 public:
  // Initialised as PyTorch's: N(0, 1), the padding row zero. Throws soma::Error for non-positive
  // sizes or a padding_idx outside the table.
  Embedding(int64_t num_embeddings, int64_t dim, EmbeddingOptions options = {});
  // i64 indices of any shape → f32 [indices..., dim].
  Tensor forward(const Tensor& index) override;
  std::string kind() const override { return "embedding"; }

  Tensor weight;  // [num_embeddings, dim]

 private:
  int64_t padding_idx_;
};

}  // namespace soma::nn
