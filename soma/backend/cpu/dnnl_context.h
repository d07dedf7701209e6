#pragma once
// The one oneDNN engine and stream, and the primitive cache. Creating a oneDNN primitive costs
// tens of microseconds, more than a small layer's whole forward pass, so every primitive is made
// once per distinct (kind, shapes, attributes) and reused.
#include <dnnl.hpp>

#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

#include "soma/core/shape.h"

namespace soma::cpu {

dnnl::engine& engine();
dnnl::stream& stream();

// A cache key assembled from the parts that decide a primitive: key << "matmul" << shape << ...
// It starts with the thread count the primitive runs on: oneDNN fixes a kernel's partition of
// the work among threads when the primitive is made (see SerialWhenSmall).
class Key {
 public:
  Key();
  Key& operator<<(const std::string& text) { return text_ += text, text_ += '|', *this; }
  Key& operator<<(const char* text) { return *this << std::string(text); }
  Key& operator<<(int64_t value) { return *this << std::to_string(value); }
  Key& operator<<(const Shape& shape) {
    for (int64_t extent : shape) text_ += std::to_string(extent), text_ += ',';
    return text_ += '|', *this;
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// Forking and joining oneDNN's OpenMP team costs a few microseconds per primitive, more than the
// second core gains on small work: LeNet-5 inference at batch 1 runs twice as fast on one thread.
// While one of these lives, the primitives a backend call makes and runs are single-threaded if
// its `work` is below `small`: multiply-adds for convolutions and products (kSmallMultiplyAdds),
// elements for passes that only move data (kSmallElements).
inline constexpr int64_t kSmallMultiplyAdds = int64_t(1) << 18, kSmallElements = int64_t(1) << 14;

class SerialWhenSmall {
 public:
  SerialWhenSmall(int64_t work, int64_t small);
  ~SerialWhenSmall();
  SerialWhenSmall(const SerialWhenSmall&) = delete;
  SerialWhenSmall& operator=(const SerialWhenSmall&) = delete;

 private:
  bool serial_ = false;
};

// The primitive for `key`, made by `make` the first time the key is seen.
dnnl::primitive& cached(const Key& key, const std::function<dnnl::primitive()>& make);

// A plain row-major f32 memory descriptor of this shape.
dnnl::memory::desc plain_f32(const Shape& shape);

// The layout a primitive chose for one of its arguments (query::src_md, diff_weights_md, ...);
// `index` picks among several of a kind (an RNN's weights: 0 the input's, 1 the hidden state's).
dnnl::memory::desc queried(const dnnl::primitive& primitive, dnnl::query what, int index = 0);

// Primitives whose layouts are their own choice (format_tag::any) read and write soma's plain
// tensors through these: `data` (laid out as `plain`) as the primitive `wanted` it — the tensor
// itself when the layouts agree, otherwise a reordered copy.
dnnl::memory laid_out(const dnnl::memory::desc& wanted, const dnnl::memory::desc& plain, void* data,
                      const Key& key);

// An output in the layout the primitive wants; finish() moves it into the plain tensor as
// `out = result + beta · out`, reordering when the layouts differ.
class LaidOutOutput {
 public:
  LaidOutOutput(const dnnl::memory::desc& wanted, const dnnl::memory::desc& plain, void* data,
                float beta, Key key);
  dnnl::memory& memory() { return memory_; }
  void finish();

 private:
  dnnl::memory plain_, memory_;
  float beta_;
  Key key_;
};

}  // namespace soma::cpu
