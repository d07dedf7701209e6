#include "soma/backend/cpu/dnnl_context.h"

#include <omp.h>

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

// A buffer of `desc` kept for `key`: the layouts primitives want are the same sizes every step,
// and oneDNN allocating each copy afresh faulted new pages in every time (about a tenth of a
// LeNet-5 training step, measured with perf). Every call finishes with its buffers before it
// returns, so one buffer per key and thread is never in use twice.
dnnl::memory buffer_for(const dnnl::memory::desc& desc, const Key& key) {
  thread_local std::unordered_map<std::string, dnnl::memory> buffers;
  auto found = buffers.find(key.text());
  if (found == buffers.end())
    found = buffers.emplace(key.text(), dnnl::memory(desc, engine())).first;
  return found->second;
}

}  // namespace

dnnl::memory laid_out(const dnnl::memory::desc& wanted, const dnnl::memory::desc& plain, void* data,
                      const Key& key) {
  dnnl::memory given(plain, engine(), data);
  if (wanted == plain) return given;
  dnnl::memory copy = buffer_for(wanted, key);
  reorder(given, copy, 0.0f, key);
  return copy;
}

LaidOutOutput::LaidOutOutput(const dnnl::memory::desc& wanted, const dnnl::memory::desc& plain,
                             void* data, float beta, Key key)
    : plain_(plain, engine(), data), beta_(beta), key_(std::move(key)) {
  // Writing straight into the tensor works when the layouts agree and nothing is to be kept.
  memory_ = wanted == plain && beta == 0.0f ? plain_ : buffer_for(wanted, key_);
}

void LaidOutOutput::finish() {
  if (memory_.get_data_handle() != plain_.get_data_handle()) reorder(memory_, plain_, beta_, key_);
}

}  // namespace soma::cpu
