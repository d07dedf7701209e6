#include "soma/models/char_lstm.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "soma/autograd/node.h"
#include "soma/ops/dropout.h"

namespace soma::models {

int64_t sample_next(const std::vector<float>& logits, const SamplingOptions& options, Rng& rng) {
  SOMA_CHECK(!logits.empty(), "sample_next: no logits");
  SOMA_CHECK(options.temperature >= 0 && options.top_k >= 0,
             "sampling: expected temperature >= 0 and top_k >= 0, found ", options.temperature,
             " and ", options.top_k);
  std::vector<int64_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return logits[size_t(a)] > logits[size_t(b)]; });
  if (options.temperature == 0) return order[0];
  const size_t kept =
      options.top_k > 0 ? std::min(order.size(), size_t(options.top_k)) : order.size();
  std::vector<double> weights(kept);
  const double best = logits[size_t(order[0])];
  for (size_t i = 0; i < kept; ++i)
    weights[i] = std::exp((logits[size_t(order[i])] - best) / options.temperature);
  double u = 0;
  rng.uniform(&u, 1, 0.0, std::accumulate(weights.begin(), weights.end(), 0.0));
  for (size_t i = 0; i < kept; ++i) {
    if (u < weights[i]) return order[i];
    u -= weights[i];
  }
  return order[kept - 1];
}

CharLstm::CharLstm(int64_t vocabulary, CharLstmOptions options)
    : vocabulary_(vocabulary), dropout_(options.dropout), stateful_(options.stateful) {
  embedding_ = std::make_shared<nn::Embedding>(vocabulary, options.embedding);
  lstm_ = std::make_shared<nn::LSTM>(
      options.embedding, options.hidden,
      nn::RnnOptions{
          .num_layers = options.layers, .batch_first = true, .dropout = options.dropout});
  head_ = std::make_shared<nn::Linear>(options.hidden, vocabulary);
  register_module("embedding", embedding_);
  register_module("lstm", lstm_);
  register_module("head", head_);
}

Tensor CharLstm::forward(const Tensor& x) {
  if (!stateful_) return forward(x, {}).first;
  if (carried_.h.defined() &&
      (carried_.h.size(1) != x.size(0) || carried_training_ != is_training()))
    reset_state();
  auto [logits, state] = forward(x, carried_);
  carried_ = {state.h.detach(), state.c.detach()};
  carried_training_ = is_training();
  return logits;
}

std::vector<int64_t> CharLstm::generate(const std::vector<int64_t>& prime, int64_t length,
                                        const SamplingOptions& options, Rng& rng) {
  SOMA_CHECK(!prime.empty(), "char_lstm: generation needs at least one character to start from");
  // Eval mode while generating, and the caller's mode back however generation ends.
  struct RestoreMode {
    CharLstm& model;
    bool training;
    ~RestoreMode() { model.train(training); }
  } restore{*this, is_training()};
  eval();
  autograd::NoGradGuard no_grad;
  // The prime in one pass; then one step per character, carrying the state.
  auto [logits, state] = forward(Tensor::from(prime, {1, int64_t(prime.size())}), {});
  std::vector<int64_t> text;
  while (int64_t(text.size()) < length) {
    const float* last = logits.data<float>() + logits.numel() - vocabulary_;
    text.push_back(sample_next(std::vector<float>(last, last + vocabulary_), options, rng));
    if (int64_t(text.size()) < length)
      std::tie(logits, state) =
          forward(Tensor::from(std::vector<int64_t>{text.back()}, {1, 1}), state);
  }
  return text;
}

std::pair<Tensor, nn::RnnState> CharLstm::forward(const Tensor& x, const nn::RnnState& state) {
  SOMA_CHECK(x.dim() == 2 && x.dtype() == DType::I64,
             "char_lstm: expected character indices [N, T] (i64), found ", to_string(x.shape()),
             " ", name_of(x.dtype()));
  auto [hidden, final] = lstm_->forward((*embedding_)(x), state);
  if (dropout_ > 0) hidden = dropout(hidden, dropout_, is_training());
  return {(*head_)(hidden), final};
}

}  // namespace soma::models
