#include "soma/backend/cpu/dnnl_context.h"

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

}  // namespace soma::cpu
