#include "soma/nn/embedding.h"

#include <algorithm>

#include "soma/nn/init.h"
#include "soma/ops/indexing.h"

namespace soma::nn {

Embedding::Embedding(int64_t num_embeddings, int64_t dim, EmbeddingOptions options)
    : padding_idx_(options.padding_idx) {
  SOMA_CHECK(num_embeddings > 0 && dim > 0, "Embedding: expected positive sizes, found ",
             num_embeddings, " × ", dim);
  SOMA_CHECK(padding_idx_ >= -1 && padding_idx_ < num_embeddings, "Embedding: padding_idx ",
             padding_idx_, " is outside the table of ", num_embeddings);
  weight = register_parameter("weight", Tensor::empty({num_embeddings, dim}));
  init::normal(weight, 0, 1);
  if (padding_idx_ >= 0) std::fill_n(weight.data<float>() + padding_idx_ * dim, dim, 0.0f);
}

Tensor Embedding::forward(const Tensor& index) { return embedding(weight, index, padding_idx_); }

}  // namespace soma::nn
