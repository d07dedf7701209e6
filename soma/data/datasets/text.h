#pragma once
// Character-level text for language models: a vocabulary of the text's characters and
// fixed-length windows of the encoded text, each target the input shifted by one character.
#include <array>
#include <string>
#include <string_view>

#include "soma/data/dataset.h"

namespace soma::data {

// Characters (bytes) ↔ ids 0..size-1, in byte order.
class CharVocabulary {
 public:
  // The distinct characters of `text`.
  static CharVocabulary of(std::string_view text);
  // The characters in this order (as saved with a model). Throws on a repeated character.
  explicit CharVocabulary(std::string chars);

  int64_t size() const { return int64_t(chars_.size()); }
  const std::string& chars() const { return chars_; }
  // i64 [n]. Throws soma::Error naming the first character not in the vocabulary and its place.
  Tensor encode(std::string_view text) const;
  // The text of i64 ids; throws for an id outside 0..size-1.
  std::string decode(const Tensor& ids) const;

 private:
  std::string chars_;
  std::array<int16_t, 256> id_;  // -1 for characters not in the vocabulary
};

struct CharCorpus {
  CharVocabulary vocabulary;
  Tensor ids;  // i64 [characters]
};

// Reads a text file (raw or .gz) and encodes it with its own vocabulary. Throws soma::Error for
// a missing or empty file.
CharCorpus read_char_corpus(const std::string& path);

// Windows of a token sequence for next-token prediction: example i has input
// ids[s·i, s·i + L) and target ids[s·i + 1, s·i + L + 1) (both i64 [L]), for length L and
// stride s (L when 0: windows that do not overlap).
class SequenceWindows : public Dataset {
 public:
  // Throws soma::Error unless ids is 1-d i64 with at least length + 1 tokens.
  SequenceWindows(Tensor ids, int64_t length, int64_t stride = 0);
  int64_t size() const override { return size_; }
  Example get(int64_t index) const override;

 private:
  Tensor ids_;
  int64_t length_, stride_, size_;
};

// A token sequence as `streams` parallel streams for truncated back-propagation through time: the
// sequence is cut into `streams` equal parts, and example i is window i / streams (of `length`
// tokens, target one token on) of part i % streams. An unshuffled loader with batch size
// `streams` then gives batches whose row b continues row b of the batch before, so a model can
// carry its state from one batch into the next.
class SequenceStreams : public Dataset {
 public:
  // Throws soma::Error unless ids is 1-d i64 long enough for one window per stream.
  SequenceStreams(Tensor ids, int64_t streams, int64_t length);
  int64_t size() const override { return streams_ * chunks_; }
  Example get(int64_t index) const override;

 private:
  Tensor ids_;
  int64_t streams_, length_, stream_length_ = 0, chunks_ = 0;
};

}  // namespace soma::data
