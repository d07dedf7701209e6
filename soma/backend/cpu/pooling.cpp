// Pooling on oneDNN's pooling primitives, straight on soma's NCHW tensors: oneDNN pools plain
// layouts with its vectorised kernels, so a reorder would only add a copy. The most common window,
// max over 2×2 with stride 2, runs as soma's own loops (see pairwise_max_forward).
#include <cstdint>

#include "soma/backend/cpu/cpu_backend.h"
#include "soma/backend/cpu/dnnl_context.h"
#include "soma/core/parallel.h"

namespace soma {
namespace {

using dnnl::memory;

// Max pooling over 2×2 windows with stride 2 and no padding: LeNet-5's, VGG's and airbench's.
// oneDNN 2.6 pools plain NCHW slowly: on LeNet-5's first 128×6×28×28 activation it took 232 µs
// forward and 228 µs backward, these loops about 2.5× and 1.7× less (2 threads). Each output's
// workspace byte says where its maximum was: 0 and 1 in the window's top row, 2 and 3 below.
bool is_pairwise_max(const Pool2dGeometry& g) {
  return g.mode == PoolMode::Max && g.kernel == std::array<int64_t, 2>{2, 2} &&
         g.stride == std::array<int64_t, 2>{2, 2} && g.padding == std::array<int64_t, 2>{0, 0};
}

// Calls body(plane) for every (n, c) plane of y, planes shared among the threads.
template <class Body>
void for_each_plane(const Tensor& x, const Tensor& y, Body&& body) {
  const int64_t planes = y.size(0) * y.size(1), plane_elements = x.size(2) * x.size(3);
  parallel_for(planes, std::max<int64_t>(1, cpu::kSmallElements / plane_elements),
               [&](int64_t begin, int64_t end) {
                 for (int64_t p = begin; p < end; ++p) body(p);
               });
}

// Ties go to the first maximum in reading order, as the reference's scan.
Tensor pairwise_max_forward(const Tensor& y, const Tensor& x, bool training) {
  const int64_t h = x.size(2), w = x.size(3), oh = y.size(2), ow = y.size(3);
  Tensor where = training ? Tensor::empty(y.shape(), DType::U8) : Tensor();
  const float* in = x.data<float>();
  float* out = y.data<float>();
  uint8_t* at = training ? where.data<uint8_t>() : nullptr;
  for_each_plane(x, y, [&](int64_t p) {
    for (int64_t row = 0; row < oh; ++row) {
      const float* top = in + (p * h + 2 * row) * w;
      const float* bottom = top + w;
      float* result = out + (p * oh + row) * ow;
      uint8_t* index = at ? at + (p * oh + row) * ow : nullptr;
#pragma omp simd
      for (int64_t col = 0; col < ow; ++col) {
        const float a = top[2 * col], b = top[2 * col + 1];
        const float c = bottom[2 * col], d = bottom[2 * col + 1];
        const bool right_top = b > a, right_bottom = d > c;
        const float upper = right_top ? b : a, lower = right_bottom ? d : c;
        const bool below = lower > upper;
        result[col] = below ? lower : upper;
        if (index) index[col] = below ? uint8_t(2 + right_bottom) : uint8_t(right_top);
      }
    }
  });
  return where;
}

// One row of windows' gradients into the two input rows under them: dx = g + beta · dx, where
// dx is only read when accumulating (a fresh gradient buffer may hold anything).
template <bool kAccumulate>
void scatter_row(float* top, float* bottom, const float* g, const uint8_t* index, int64_t ow,
                 float beta) {
  auto put = [beta](float& to, float value) { to = kAccumulate ? value + beta * to : value; };
#pragma omp simd
  for (int64_t col = 0; col < ow; ++col) {
    const float v = g[col];
    const uint8_t i = index[col];
    put(top[2 * col], i == 0 ? v : 0.0f);
    put(top[2 * col + 1], i == 1 ? v : 0.0f);
    put(bottom[2 * col], i == 2 ? v : 0.0f);
    put(bottom[2 * col + 1], i == 3 ? v : 0.0f);
  }
}

// Every input lies in at most one window, so each is written (or added to) once; the row and
// column an odd size leaves outside every window get no gradient.
void pairwise_max_backward(const Tensor& dx, const Tensor& dy, const Tensor& where, float beta) {
  const int64_t h = dx.size(2), w = dx.size(3), oh = dy.size(2), ow = dy.size(3);
  const float* gradient = dy.data<float>();
  const uint8_t* at = where.data<uint8_t>();
  float* out = dx.data<float>();
  for_each_plane(dx, dy, [&](int64_t p) {
    float* plane = out + p * h * w;
    if (beta == 0.0f && (h != 2 * oh || w != 2 * ow)) std::fill(plane, plane + h * w, 0.0f);
    for (int64_t row = 0; row < oh; ++row) {
      float* top = plane + 2 * row * w;
      const int64_t o = (p * oh + row) * ow;
      if (beta == 0.0f)
        scatter_row<false>(top, top + w, gradient + o, at + o, ow, beta);
      else
        scatter_row<true>(top, top + w, gradient + o, at + o, ow, beta);
    }
  });
}

dnnl::algorithm algorithm_of(PoolMode mode) {
  switch (mode) {
    case PoolMode::Max:
      return dnnl::algorithm::pooling_max;
    case PoolMode::Average:
      return dnnl::algorithm::pooling_avg_include_padding;
    case PoolMode::AverageExcludePadding:
      return dnnl::algorithm::pooling_avg_exclude_padding;
  }
  fail("unknown pooling mode");
}

cpu::Key key_of(const char* kind, const Shape& x, const Shape& y, const Pool2dGeometry& g) {
  cpu::Key key;
  key << kind << x << y << int64_t(g.mode) << g.kernel[0] << g.kernel[1] << g.stride[0]
      << g.stride[1] << g.padding[0] << g.padding[1];
  return key;
}

dnnl::pooling_forward::primitive_desc forward_desc(const memory::desc& x, const memory::desc& y,
                                                   const Pool2dGeometry& g, bool training) {
  const memory::dims padding{g.padding[0], g.padding[1]};
  return {dnnl::pooling_forward::desc(
              training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference,
              algorithm_of(g.mode), x, y, {g.stride[0], g.stride[1]}, {g.kernel[0], g.kernel[1]},
              padding, padding),
          cpu::engine()};
}

}  // namespace

// The workspace is oneDNN's own (bytes in a u8 tensor), present for max pooling in training.
Tensor CpuBackend::pool2d_forward(const Tensor& y, const Tensor& x, const Pool2dGeometry& g,
                                  bool training) {
  if (x.dtype() != DType::F32 || y.numel() == 0)
    return ReferenceBackend::pool2d_forward(y, x, g, training);
  if (is_pairwise_max(g)) return pairwise_max_forward(y, x, training);
  const cpu::SerialWhenSmall serial(x.numel(), cpu::kSmallElements);
  const memory::desc x_md = cpu::plain_f32(x.shape()), y_md = cpu::plain_f32(y.shape());
  training = training && g.mode == PoolMode::Max;
  dnnl::primitive& primitive =
      cpu::cached(key_of(training ? "pool_fwd_training" : "pool_fwd", x.shape(), y.shape(), g),
                  [&] { return dnnl::pooling_forward(forward_desc(x_md, y_md, g, training)); });
  auto& engine = cpu::engine();
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(x_md, engine, x.raw_data())},
                                       {DNNL_ARG_DST, memory(y_md, engine, y.raw_data())}};
  Tensor workspace;
  if (training) {
    const memory::desc ws_md = cpu::queried(primitive, dnnl::query::workspace_md);
    workspace = Tensor::empty({int64_t(ws_md.get_size())}, DType::U8);
    args.emplace(DNNL_ARG_WORKSPACE, memory(ws_md, engine, workspace.raw_data()));
  }
  primitive.execute(cpu::stream(), args);
  cpu::stream().wait();
  return workspace;
}

void CpuBackend::pool2d_backward(const Tensor& dx, const Tensor& dy, const Tensor& workspace,
                                 const Pool2dGeometry& g, float beta) {
  if (dx.dtype() != DType::F32 || dy.numel() == 0)
    return ReferenceBackend::pool2d_backward(dx, dy, workspace, g, beta);
  if (is_pairwise_max(g)) return pairwise_max_backward(dx, dy, workspace, beta);
  const cpu::SerialWhenSmall serial(dx.numel(), cpu::kSmallElements);
  const memory::desc x_md = cpu::plain_f32(dx.shape()), y_md = cpu::plain_f32(dy.shape());
  const bool max = g.mode == PoolMode::Max;
  dnnl::primitive& primitive = cpu::cached(key_of("pool_bwd", dx.shape(), dy.shape(), g), [&] {
    const memory::dims padding{g.padding[0], g.padding[1]};
    return dnnl::pooling_backward(dnnl::pooling_backward::primitive_desc(
        dnnl::pooling_backward::desc(algorithm_of(g.mode), x_md, y_md, {g.stride[0], g.stride[1]},
                                     {g.kernel[0], g.kernel[1]}, padding, padding),
        cpu::engine(), forward_desc(x_md, y_md, g, max)));
  });
  auto& engine = cpu::engine();
  std::unordered_map<int, memory> args{{DNNL_ARG_DIFF_DST, memory(y_md, engine, dy.raw_data())}};
  if (max)
    args.emplace(DNNL_ARG_WORKSPACE, memory(cpu::queried(primitive, dnnl::query::workspace_md),
                                            engine, workspace.raw_data()));
  execute_accumulating(primitive, args, x_md, dx, beta);
}

}  // namespace soma
