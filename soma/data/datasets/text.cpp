#include "soma/data/datasets/text.h"

#include <cctype>
#include <cstring>

#include "soma/data/idx.h"

namespace soma::data {

CharVocabulary CharVocabulary::of(std::string_view text) {
  std::array<bool, 256> seen{};
  for (char c : text) seen[uint8_t(c)] = true;
  std::string chars;
  for (int c = 0; c < 256; ++c)
    if (seen[size_t(c)]) chars += char(c);
  return CharVocabulary(chars);
}

CharVocabulary::CharVocabulary(std::string chars) : chars_(std::move(chars)) {
  id_.fill(-1);
  for (size_t i = 0; i < chars_.size(); ++i) {
    int16_t& id = id_[uint8_t(chars_[i])];
    SOMA_CHECK(id < 0, "vocabulary: character ", int(uint8_t(chars_[i])), " appears twice");
    id = int16_t(i);
  }
}

Tensor CharVocabulary::encode(std::string_view text) const {
  Tensor ids = Tensor::empty({int64_t(text.size())}, DType::I64);
  int64_t* out = ids.data<int64_t>();
  for (size_t i = 0; i < text.size(); ++i) {
    const int16_t id = id_[uint8_t(text[i])];
    if (id < 0) {
      const auto byte = uint8_t(text[i]);
      std::string shown = "byte " + std::to_string(byte);
      if (std::isprint(byte)) shown = {'\'', char(byte), '\''};
      fail("character ", shown, " at position ", i, " is not in the vocabulary of ", size());
    }
    out[i] = id;
  }
  return ids;
}

std::string CharVocabulary::decode(const Tensor& ids) const {
  std::string text;
  const Tensor values = ids.to(DType::I64);
  for (int64_t i = 0; i < values.numel(); ++i) {
    const int64_t id = values.data<int64_t>()[i];
    SOMA_CHECK(id >= 0 && id < size(), "id ", id, " at position ", i, " is outside 0..",
               size() - 1);
    text += chars_[size_t(id)];
  }
  return text;
}

CharCorpus read_char_corpus(const std::string& path) {
  const std::string text = read_maybe_gzipped(path);
  SOMA_CHECK(!text.empty(), path, ": empty text");
  CharVocabulary vocabulary = CharVocabulary::of(text);
  Tensor ids = vocabulary.encode(text);
  return {std::move(vocabulary), ids};
}

namespace {

// Tokens start .. start + length as input, the same one token on as target.
Example window_at(const Tensor& ids, int64_t start, int64_t length) {
  const int64_t* begin = ids.data<int64_t>() + start;
  Tensor input = Tensor::empty({length}, DType::I64), target = Tensor::empty({length}, DType::I64);
  std::memcpy(input.raw_data(), begin, size_t(length) * sizeof(int64_t));
  std::memcpy(target.raw_data(), begin + 1, size_t(length) * sizeof(int64_t));
  return {input, target};
}

void check_ids(const Tensor& ids, const char* what) {
  SOMA_CHECK(ids.dim() == 1 && ids.dtype() == DType::I64, what, ": expected i64 ids [n], found ",
             name_of(ids.dtype()), " ", to_string(ids.shape()));
}

}  // namespace

SequenceWindows::SequenceWindows(Tensor ids, int64_t length, int64_t stride)
    : ids_(std::move(ids)), length_(length), stride_(stride > 0 ? stride : length) {
  check_ids(ids_, "SequenceWindows");
  SOMA_CHECK(length_ >= 1 && ids_.numel() >= length_ + 1, "SequenceWindows: ", ids_.numel(),
             " tokens are too few for windows of ", length_, " plus the next token");
  size_ = (ids_.numel() - length_ - 1) / stride_ + 1;
}

Example SequenceWindows::get(int64_t index) const {
  SOMA_CHECK(index >= 0 && index < size_, "window ", index, " is outside 0..", size_ - 1);
  return window_at(ids_, index * stride_, length_);
}

SequenceStreams::SequenceStreams(Tensor ids, int64_t streams, int64_t length)
    : ids_(std::move(ids)), streams_(streams), length_(length) {
  check_ids(ids_, "SequenceStreams");
  SOMA_CHECK(streams_ >= 1 && length_ >= 1,
             "SequenceStreams: expected positive streams and length, found ", streams_, " and ",
             length_);
  stream_length_ = (ids_.numel() - 1) / streams_;  // one token more for the last target
  chunks_ = stream_length_ / length_;
  SOMA_CHECK(chunks_ >= 1, "SequenceStreams: ", ids_.numel(), " tokens are too few for ", streams_,
             " streams of at least ", length_, " tokens plus the next");
}

Example SequenceStreams::get(int64_t index) const {
  SOMA_CHECK(index >= 0 && index < size(), "window ", index, " is outside 0..", size() - 1);
  return window_at(ids_, (index % streams_) * stream_length_ + (index / streams_) * length_,
                   length_);
}

}  // namespace soma::data
