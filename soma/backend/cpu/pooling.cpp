// Pooling on oneDNN's pooling primitives, in the layout x comes in: a convolution's or
// activation's blocked output as it is held (see cpu::Held), soma's NCHW tensors as they are. A
// reorder into a blocked layout for pooling alone would cost more than it saves.
#include <cstring>

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

// x's layout is plain NCHW or the one x is held in (`held`), which the key names then.
cpu::Key key_of(const char* kind, const memory::desc& x, bool held, const Shape& x_shape,
                const Shape& y, const Pool2dGeometry& g) {
  cpu::Key key;
  key << kind << x_shape << y << int64_t(g.mode) << g.kernel[0] << g.kernel[1] << g.stride[0]
      << g.stride[1] << g.padding[0] << g.padding[1];
  return held ? key << x : key;
}

// y's layout: plain NCHW for plain x, else the primitive's choice to go with x's, in x's type.
memory::desc y_layout(const memory::desc& x, bool held, const Shape& y) {
  const memory::desc plain = cpu::plain_f32(y);
  return held ? memory::desc(plain.dims(), x.data_type(), memory::format_tag::any) : plain;
}

// The backward pass must read the workspace in the layout the forward pass wrote it in, whatever
// layout dy comes in; so the forward pass records its layout of x after oneDNN's workspace.
constexpr size_t kRecord = sizeof(dnnl_memory_desc_t);

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

// The workspace (bytes in a u8 tensor) is oneDNN's own, for max pooling, followed by the layout x
// was read in; it is made when the backward pass will be wanted.
Tensor CpuBackend::pool2d_forward(const Tensor& y, const Tensor& x, const Pool2dGeometry& g,
                                  bool training) {
  if (x.dtype() != DType::F32 || y.numel() == 0)
    return ReferenceBackend::pool2d_forward(y, x, g, training);
  const cpu::SerialWhenSmall serial(x.numel(), cpu::kSmallElements);
  const memory::desc plain_x = cpu::plain_f32(x.shape()), plain_y = cpu::plain_f32(y.shape());
  const auto kept = cpu::held(x);
  const bool held = kept && kept->memory().get_desc().dims() == plain_x.dims();
  const memory::desc x_md = held ? kept->memory().get_desc() : plain_x;
  const bool max_training = training && g.mode == PoolMode::Max;
  const cpu::Key key =
      key_of(max_training ? "pool_fwd_training" : "pool_fwd", x_md, held, x.shape(), y.shape(), g);
  dnnl::primitive& primitive = cpu::cached(key, [&] {
    return dnnl::pooling_forward(
        forward_desc(x_md, y_layout(x_md, held, y.shape()), g, max_training));
  });
  cpu::LaidOutOutput out(held ? cpu::queried(primitive, dnnl::query::dst_md) : plain_y, plain_y, y,
                         0.0f, cpu::Key(key) << "y", /*hold=*/true);
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, cpu::laid_out(x_md, plain_x, x, cpu::Key(key) << "x")},
      {DNNL_ARG_DST, out.memory()}};
  Tensor workspace;
  if (training) {
    const memory::desc ws_md = cpu::queried(primitive, dnnl::query::workspace_md);
    workspace = Tensor::empty({int64_t(ws_md.get_size() + kRecord)}, DType::U8);
    uint8_t* bytes = workspace.data<uint8_t>();
    std::memcpy(bytes + ws_md.get_size(), &x_md.data, kRecord);
    if (max_training) args.emplace(DNNL_ARG_WORKSPACE, memory(ws_md, cpu::engine(), bytes));
  }
  primitive.execute(cpu::stream(), args);
  out.finish();
  cpu::stream().wait();
  return workspace;
}

void CpuBackend::pool2d_backward(const Tensor& dx, const Tensor& dy, const Tensor& workspace,
                                 const Pool2dGeometry& g, float beta) {
  if (dx.dtype() != DType::F32 || dy.numel() == 0)
    return ReferenceBackend::pool2d_backward(dx, dy, workspace, g, beta);
  SOMA_CHECK(workspace.defined() && workspace.numel() >= int64_t(kRecord),
             "pool2d_backward: expected the workspace of a training forward pass");
  const cpu::SerialWhenSmall serial(dx.numel(), cpu::kSmallElements);
  const memory::desc plain_x = cpu::plain_f32(dx.shape()), plain_y = cpu::plain_f32(dy.shape());
  uint8_t* bytes = workspace.data<uint8_t>();
  memory::desc x_md;
  std::memcpy(&x_md.data, bytes + workspace.numel() - kRecord, kRecord);
  const bool max = g.mode == PoolMode::Max, held = x_md != plain_x;
  const cpu::Key key = key_of("pool_bwd", x_md, held, dx.shape(), dy.shape(), g);
  dnnl::primitive& primitive = cpu::cached(key, [&] {
    const auto hint = forward_desc(x_md, y_layout(x_md, held, dy.shape()), g, max);
    const memory::dims padding{g.padding[0], g.padding[1]};
    return dnnl::pooling_backward(dnnl::pooling_backward::primitive_desc(
        dnnl::pooling_backward::desc(algorithm_of(g.mode), x_md, hint.dst_desc(),
                                     {g.stride[0], g.stride[1]}, {g.kernel[0], g.kernel[1]},
                                     padding, padding),
        cpu::engine(), hint));
  });
  cpu::LaidOutOutput out(x_md, plain_x, dx, beta, cpu::Key(key) << "dx", /*hold=*/true);
  std::unordered_map<int, memory> args{
      {DNNL_ARG_DIFF_DST, cpu::laid_out(cpu::queried(primitive, dnnl::query::diff_dst_md), plain_y,
                                        dy, cpu::Key(key) << "dy")},
      {DNNL_ARG_DIFF_SRC, out.memory()}};
  if (max)
    args.emplace(DNNL_ARG_WORKSPACE,
                 memory(cpu::queried(primitive, dnnl::query::workspace_md), cpu::engine(), bytes));
  primitive.execute(cpu::stream(), args);
  out.finish();
  cpu::stream().wait();
}

}  // namespace soma
