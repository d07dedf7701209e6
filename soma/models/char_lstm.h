#pragma once
// A character-level language model (Karpathy's char-rnn): embedding → LSTM → linear over the
// vocabulary at every step. Names "embedding.weight", "lstm.weight_ih_l0", ..., "head.weight", the
// same as the PyTorch module of bench/peer_pytorch.py, so weights move between the two.
#include <vector>

#include "soma/core/rng.h"
#include "soma/nn/embedding.h"
#include "soma/nn/linear.h"
#include "soma/nn/rnn.h"

namespace soma::models {

// How the next character is drawn from the model's logits: from softmax(logits / temperature)
// over the top_k most likely characters (all when 0); temperature 0 takes the most likely one.
struct SamplingOptions {
  double temperature = 1.0;
  int64_t top_k = 0;
};

// One draw from `logits` [vocabulary] as `options` say. Throws soma::Error for a negative
// temperature or top_k.
int64_t sample_next(const std::vector<float>& logits, const SamplingOptions& options, Rng& rng);

struct CharLstmOptions {
  int64_t embedding = 64;
  int64_t hidden = 256;
  int64_t layers = 1;
  double dropout = 0;  // between LSTM layers and before the head, while training
  // Carry the state from one forward(x) into the next, detached: truncated back-propagation
  // through time over batches whose rows continue each other (data::SequenceStreams).
  bool stateful = false;
};

class CharLstm : public nn::Module {
 public:
  explicit CharLstm(int64_t vocabulary, CharLstmOptions options = {});
  // Character indices [N, T] (i64) → next-character logits [N, T, vocabulary], from zero states;
  // a stateful model starts from the state the previous call ended in instead, unless the batch
  // size changed or the model switched between training and evaluation since (a new epoch, an
  // evaluation) or reset_state() was called.
  Tensor forward(const Tensor& x) override;
  void reset_state() { carried_ = {}; }
  // The same from `state` (undefined parts zero); also returns the state after the last step,
  // which a stream carries into its next batch (detached) and generation into its next step.
  std::pair<Tensor, nn::RnnState> forward(const Tensor& x, const nn::RnnState& state);
  std::string kind() const override { return "char_lstm"; }

  // `length` characters that follow `prime` (ids, at least one), each drawn from the model's
  // prediction given everything before it. Runs in eval mode without recording a graph.
  std::vector<int64_t> generate(const std::vector<int64_t>& prime, int64_t length,
                                const SamplingOptions& options, Rng& rng);

  int64_t vocabulary() const { return vocabulary_; }

 private:
  int64_t vocabulary_;
  double dropout_;
  bool stateful_;
  nn::RnnState carried_;
  bool carried_training_ = false;  // the mode carried_ was reached in
  std::shared_ptr<nn::Embedding> embedding_;
  std::shared_ptr<nn::LSTM> lstm_;
  std::shared_ptr<nn::Linear> head_;
};

}  // namespace soma::models
