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
#include "soma/core/tensor.h"

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
  // A layout: its dims, data type and blocking, as raw bytes.
  Key& operator<<(const dnnl::memory::desc& desc);
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
// Images [N, C, H, W] in bf16, channels-last (AMX's convolutions write them so).
dnnl::memory::desc nhwc_bf16(const Shape& shape);

// The layout a primitive chose for one of its arguments (query::src_md, diff_weights_md, ...);
// `index` picks among several of a kind (an RNN's weights: 0 the input's, 1 the hidden state's).
dnnl::memory::desc queried(const dnnl::primitive& primitive, dnnl::query what, int index = 0);

// A backward pass must read a workspace in the layout its forward pass wrote it for, whatever
// layout the backward pass's other arguments come in (a held activation may have been read
// row-major since): so a workspace of `bytes` is followed by the record of that layout, `md`.
Tensor workspace_for(int64_t bytes, const dnnl::memory::desc& md);
// The layout recorded at the end of a workspace_for (`what` names it in the error for another).
dnnl::memory::desc recorded_layout(const Tensor& workspace, const char* what);

// Values of an f32 tensor held in the layout a primitive wrote them in (see Storage::Layout).
// Activations stay in the layouts oneDNN's convolutions choose (channel blocks, channels-last)
// from one convolution, eltwise, pooling or LRN primitive to the next: reordering each to NCHW
// and back cost a fifth of a LeNet-5 training step, and oneDNN 2.6 pools NCHW slower than either.
class Held : public Storage::Layout {
 public:
  explicit Held(const dnnl::memory::desc& desc);
  const dnnl::memory& memory() const { return memory_; }
  void to_plain(void* data) const override;

 private:
  std::shared_ptr<Storage> bytes_;  // from soma's allocator, which reuses freed blocks
  dnnl::memory memory_;
};

// The layout holding all of `t`'s values, or null when its row-major bytes are current.
std::shared_ptr<const Held> held(const Tensor& t);

// Primitives whose layouts are their own choice (format_tag::any) read soma's tensors through
// this: `t` (row-major as `plain`) as the primitive `wanted` it — the tensor's own memory when
// the layouts agree, otherwise a reordered copy, made from the held layout where there is one.
dnnl::memory laid_out(const dnnl::memory::desc& wanted, const dnnl::memory::desc& plain,
                      const Tensor& t, const Key& key);

// An output in the layout the primitive wants; finish() moves it into the tensor as
// `out = result + beta · out`, reordering when the layouts differ. With `hold` (activations, which
// the next primitive most likely reads as they are) a result to be written (beta = 0) in another
// layout is handed to the tensor's storage instead, and reordered only if it is read row-major.
// A result added to a tensor held in its layout is added there.
class LaidOutOutput {
 public:
  LaidOutOutput(const dnnl::memory::desc& wanted, const dnnl::memory::desc& plain, const Tensor& t,
                float beta, Key key, bool hold = false);
  dnnl::memory& memory() { return memory_; }
  // Where a primitive that adds its result itself (a sum post-op) may write it: the values held
  // in the layout wanted, when the result is to be added to them (beta = 1); null otherwise.
  // After a primitive added its result there, finish() has nothing left to do.
  const dnnl::memory* sum_in_place();
  void finish();

 private:
  Tensor tensor_;
  dnnl::memory::desc plain_;
  dnnl::memory memory_;
  std::shared_ptr<const Held> held_, into_held_;
  float beta_;
  Key key_;
  bool summed_ = false;
};

}  // namespace soma::cpu
