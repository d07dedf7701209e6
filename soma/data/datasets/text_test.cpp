#include "soma/data/datasets/text.h"

#include <gtest/gtest.h>

#include "soma/data/root.h"
#include "testing.h"

namespace soma::data {
namespace {

TEST(CharVocabulary, EncodesAndDecodes) {
  const CharVocabulary vocabulary = CharVocabulary::of("hello world");
  EXPECT_EQ(vocabulary.chars(), " dehlorw");
  const Tensor ids = vocabulary.encode("world");
  EXPECT_EQ(ids.to_vector<int64_t>(), (std::vector<int64_t>{7, 5, 6, 4, 1}));
  EXPECT_EQ(vocabulary.decode(ids), "world");
  EXPECT_THROW(vocabulary.encode("hi!"), Error);
  EXPECT_THROW(vocabulary.decode(Tensor::from(std::vector<int64_t>{8}, {1})), Error);
  EXPECT_THROW(CharVocabulary("aba"), Error);
}

TEST(SequenceWindows, TargetsAreInputsShiftedByOne) {
  const SequenceWindows windows(Tensor::arange(10, DType::I64), 4);
  ASSERT_EQ(windows.size(), 2);  // [0..4) and [4..8), each with its next token
  const Example e = windows.get(1);
  EXPECT_EQ(e.input().to_vector<int64_t>(), (std::vector<int64_t>{4, 5, 6, 7}));
  EXPECT_EQ(e.target().to_vector<int64_t>(), (std::vector<int64_t>{5, 6, 7, 8}));
  EXPECT_EQ(SequenceWindows(Tensor::arange(10, DType::I64), 4, 1).size(), 6);
  EXPECT_THROW(windows.get(2), Error);
  EXPECT_THROW(SequenceWindows(Tensor::arange(4, DType::I64), 4), Error);
}

TEST(SequenceStreams, BatchRowsContinueTheRowsBefore) {
  // 23 tokens in 2 streams of 11 (0..10 and 11..21, each with its next token), windows of 4.
  const SequenceStreams streams(Tensor::arange(23, DType::I64), 2, 4);
  ASSERT_EQ(streams.size(), 4);  // two windows per stream
  EXPECT_EQ(streams.get(0).input().to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(streams.get(1).input().to_vector<int64_t>(), (std::vector<int64_t>{11, 12, 13, 14}));
  EXPECT_EQ(streams.get(2).input().to_vector<int64_t>(), (std::vector<int64_t>{4, 5, 6, 7}));
  EXPECT_EQ(streams.get(3).target().to_vector<int64_t>(), (std::vector<int64_t>{16, 17, 18, 19}));
  EXPECT_THROW(streams.get(4), Error);
  testing::expect_error([] { SequenceStreams(Tensor::arange(8, DType::I64), 2, 4); },
                        "8 tokens are too few for 2 streams of at least 4 tokens");
}

TEST(CharCorpus, TinyShakespeareFromTheDataRoot) {
  const auto root = testing::data_root();
  if (!root) GTEST_SKIP() << "SOMA_DATA is not set";
  const CharCorpus corpus =
      read_char_corpus(find_file(find_dataset("tinyshakespeare", *root), "input.txt"));
  EXPECT_EQ(corpus.ids.numel(), 1115394);  // as the data root's README gives it
  EXPECT_EQ(corpus.vocabulary.size(), 65);
  EXPECT_EQ(
      corpus.vocabulary.decode(Tensor::from(
          std::vector<int64_t>(corpus.ids.data<int64_t>(), corpus.ids.data<int64_t>() + 14), {14})),
      "First Citizen:");
}

}  // namespace
}  // namespace soma::data
