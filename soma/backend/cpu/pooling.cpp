// Pooling on oneDNN's pooling primitives, straight on soma's NCHW tensors: oneDNN pools plain
// layouts with its vectorised kernels, so a reorder would only add a copy.
#include "soma/backend/cpu/cpu_backend.h"
#include "soma/backend/cpu/dnnl_context.h"

namespace soma {
namespace {

using dnnl::memory;

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
