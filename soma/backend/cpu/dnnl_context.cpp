#include "soma/backend/cpu/dnnl_context.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "soma/core/parallel.h"

namespace soma::cpu {

dnnl::engine& engine() {
  static dnnl::engine instance(dnnl::engine::kind::cpu, 0);
  return instance;
}

dnnl::stream& stream() {
  num_threads();  // apply SOMA_NUM_THREADS before oneDNN starts its OpenMP team
  static dnnl::stream instance(engine());
  return instance;
}

Key::Key() { *this << int64_t(omp_get_max_threads()); }

Key& Key::operator<<(const dnnl::memory::desc& desc) {
  // The fields that tell layouts apart, not all of oneDNN's 700-byte descriptor: keys are made for
  // every call, and at batch 1 a call is a few microseconds.
  const dnnl_memory_desc_t& d = desc.data;
  int64_t fields[5 + 5 * DNNL_MAX_NDIMS];
  int64_t* end = fields;
  for (int64_t field : {int64_t(d.ndims), int64_t(d.data_type), int64_t(d.format_kind), d.offset0,
                        int64_t(d.extra.flags)})
    *end++ = field;
  end = std::copy(d.dims, d.dims + d.ndims, end);
  end = std::copy(d.padded_dims, d.padded_dims + d.ndims, end);
  if (d.format_kind == dnnl_blocked) {
    const dnnl_blocking_desc_t& b = d.format_desc.blocking;
    end = std::copy(b.strides, b.strides + d.ndims, end);
    end = std::copy(b.inner_blks, b.inner_blks + b.inner_nblks, end);
    end = std::copy(b.inner_idxs, b.inner_idxs + b.inner_nblks, end);
  }
  text_.append(reinterpret_cast<const char*>(fields), size_t(end - fields) * sizeof(int64_t));
  return *this << "";
}

SerialWhenSmall::SerialWhenSmall(int64_t work, int64_t small) {
  // num_threads() first: it applies SOMA_NUM_THREADS on its first call, from the count it finds.
  serial_ = num_threads() > 1 && work < small;
  if (serial_) omp_set_num_threads(1);
}

SerialWhenSmall::~SerialWhenSmall() {
  if (serial_) omp_set_num_threads(num_threads());
}

dnnl::primitive& cached(const Key& key, const std::function<dnnl::primitive()>& make) {
  static std::mutex mutex;
  static std::unordered_map<std::string, dnnl::primitive> cache;
  std::lock_guard lock(mutex);
  auto found = cache.find(key.text());
  if (found == cache.end()) found = cache.emplace(key.text(), make()).first;
  return found->second;
}

dnnl::memory::desc nhwc_bf16(const Shape& shape) {
  return dnnl::memory::desc(dnnl::memory::dims(shape), dnnl::memory::data_type::bf16,
                            dnnl::memory::format_tag::nhwc);
}

dnnl::memory::desc plain_f32(const Shape& shape) {
  // A scalar is a one-element vector to oneDNN.
  const dnnl::memory::dims dims =
      shape.empty() ? dnnl::memory::dims(1, 1) : dnnl::memory::dims(shape);
  dnnl::memory::dims strides(dims.size());
  int64_t stride = 1;
  for (size_t d = dims.size(); d-- > 0;) strides[d] = stride, stride *= dims[d];
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, strides);
}

dnnl::memory::desc queried(const dnnl::primitive& primitive, dnnl::query what, int index) {
  return dnnl::memory::desc(*dnnl_primitive_desc_query_md(primitive.get_primitive_desc(),
                                                          dnnl::convert_to_c(what), index));
}

Tensor workspace_for(int64_t bytes, const dnnl::memory::desc& md) {
  Tensor workspace = Tensor::empty({bytes + int64_t(sizeof(dnnl_memory_desc_t))}, DType::U8);
  std::memcpy(workspace.data<uint8_t>() + bytes, &md.data, sizeof(dnnl_memory_desc_t));
  return workspace;
}

dnnl::memory::desc recorded_layout(const Tensor& workspace, const char* what) {
  constexpr int64_t record = sizeof(dnnl_memory_desc_t);
  SOMA_CHECK(workspace.defined() && workspace.dtype() == DType::U8 && workspace.numel() >= record,
             what, ": expected the workspace of its forward pass, found ",
             workspace.defined() ? to_string(workspace.shape()) : "none");
  dnnl::memory::desc md;
  std::memcpy(&md.data, workspace.data<uint8_t>() + workspace.numel() - record, record);
  return md;
}

namespace {

// Copies `from` into `to` as to = from + beta · to.
void reorder(const dnnl::memory& from, const dnnl::memory& to, float beta, Key key) {
  key << "reorder" << int64_t(beta * 1e6f);
  dnnl::primitive& primitive = cached(key, [&] {
    dnnl::primitive_attr attr;
    if (beta != 0.0f) {
      dnnl::post_ops ops;
      ops.append_sum(beta);
      attr.set_post_ops(ops);
    }
    return dnnl::reorder(dnnl::reorder::primitive_desc(from, to, attr));
  });
  primitive.execute(stream(), {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}});
}

// A buffer of `desc` kept for `key`: the layouts primitives want are the same sizes every step, and
// oneDNN allocating each copy afresh faulted new pages in every time. Every call finishes with its
// buffers before it returns, so one buffer per key and thread is never in use twice.
dnnl::memory buffer_for(const dnnl::memory::desc& desc, const Key& key) {
  thread_local std::unordered_map<std::string, dnnl::memory> buffers;
  auto found = buffers.find(key.text());
  if (found == buffers.end())
    found = buffers.emplace(key.text(), dnnl::memory(desc, engine())).first;
  return found->second;
}

}  // namespace

Held::Held(const dnnl::memory::desc& desc)
    : bytes_(std::make_shared<Storage>(desc.get_size(), false)),
      memory_(desc, engine(), bytes_->data()) {}

namespace {

Shape shape_of(const dnnl::memory& memory) {
  const dnnl::memory::dims dims = memory.get_desc().dims();
  return Shape(dims.begin(), dims.end());
}

// Whether `t` is all of its storage: only then can a layout of its own hold the storage's values.
bool whole(const Tensor& t) {
  return t.impl().offset == 0 && t.impl().storage->bytes() == t.nbytes();
}

}  // namespace

void Held::to_plain(void* data) const {
  const dnnl::memory::desc desc = memory_.get_desc();
  const Shape shape = shape_of(memory_);
  const SerialWhenSmall serial(numel(shape), kSmallElements);
  Key key;
  reorder(memory_, dnnl::memory(plain_f32(shape), engine(), data), 0.0f, key << "to_plain" << desc);
  stream().wait();
}

std::shared_ptr<const Held> held(const Tensor& t) {
  return whole(t) ? std::dynamic_pointer_cast<const Held>(t.impl().storage->layout()) : nullptr;
}

namespace {

// The layout holding t's values when they stand for `plain`, t's reading of its bytes: only when
// that is their row-major layout, not a transposed view.
std::shared_ptr<const Held> held_as(const Tensor& t, const dnnl::memory::desc& plain) {
  auto kept = held(t);
  return kept && plain == plain_f32(shape_of(kept->memory())) ? kept : nullptr;
}

}  // namespace

dnnl::memory laid_out(const dnnl::memory::desc& wanted, const dnnl::memory::desc& plain,
                      const Tensor& t, const Key& key) {
  if (const auto kept = held_as(t, plain)) {
    if (kept->memory().get_desc() == wanted) return kept->memory();
    dnnl::memory copy = buffer_for(wanted, key);
    reorder(kept->memory(), copy, 0.0f, Key(key) << kept->memory().get_desc());
    return copy;
  }
  dnnl::memory given(plain, engine(), t.raw_data());
  if (wanted == plain) return given;
  dnnl::memory copy = buffer_for(wanted, key);
  reorder(given, copy, 0.0f, key);
  return copy;
}

LaidOutOutput::LaidOutOutput(const dnnl::memory::desc& wanted, const dnnl::memory::desc& plain,
                             const Tensor& t, float beta, Key key, bool hold)
    : tensor_(t), plain_(plain), beta_(beta), key_(std::move(key)) {
  if (wanted == plain && beta == 0.0f) {
    // Writing straight into the tensor works when the layouts agree and nothing is to be kept.
    memory_ = dnnl::memory(plain, engine(), t.raw_data());
  } else if (hold && beta == 0.0f && whole(t) && plain == plain_f32(t.shape())) {
    held_ = std::make_shared<Held>(wanted);
    memory_ = held_->memory();
  } else {
    memory_ = buffer_for(wanted, key_);
    // A sum into values held as the result is laid out (a gradient arriving from two branches)
    // is made where they are, not in a row-major copy of them.
    if (const auto kept = held_as(t, plain); kept && kept->memory().get_desc() == wanted)
      into_held_ = kept;
  }
}

const dnnl::memory* LaidOutOutput::sum_in_place() {
  if (!into_held_ || beta_ != 1.0f) return nullptr;
  summed_ = true;
  return &into_held_->memory();
}

void LaidOutOutput::finish() {
  if (summed_) return;
  if (held_) return tensor_.impl().storage->hold(held_);
  if (into_held_) return reorder(memory_, into_held_->memory(), beta_, Key(key_) << "into_held");
  void* data = tensor_.raw_data();
  if (memory_.get_data_handle() != data)
    reorder(memory_, dnnl::memory(plain_, engine(), data), beta_, key_);
}

}  // namespace soma::cpu
