// Local response normalisation on oneDNN's LRN primitive, in the channel-blocked layout (nChw16c)
// with soma's NCHW tensors reordered in and out: oneDNN has no jit backward kernel for NCHW, and
// its reference loops took half of an AlexNet-CIFAR training step. Inference, which needs no
// backward, runs on NCHW directly (oneDNN's NCHW forward kernel is jit) and saves the two reorders.
// oneDNN's window for an even size is one channel short of PyTorch's (it sums
// c - (size-1)/2 .. c + (size-1)/2), so even sizes run soma's reference loops; AlexNet's is 5.
#include "soma/backend/channel_split.h"
#include "soma/backend/cpu/cpu_backend.h"
#include "soma/backend/cpu/dnnl_context.h"

namespace soma {
namespace {

using dnnl::memory;

bool runs_on_onednn(const Tensor& x, const LrnParams& p) {
  return x.dtype() == DType::F32 && x.numel() > 0 && p.size % 2 == 1;
}

// x [N, C, ...] as the 4-d [N, C, inner, 1] the primitive takes: the same bytes.
memory::desc data_md(const Tensor& x) {
  const ChannelSplit s = split_channels(x);
  return cpu::plain_f32({s.n, s.c, s.inner, 1});
}

// The layout the primitives run in, forward and backward alike (the workspace is laid out as the
// data is).
memory::desc blocked_md(const Tensor& x) {
  return memory::desc(data_md(x).dims(), memory::data_type::f32, memory::format_tag::nChw16c);
}

cpu::Key key_of(const char* kind, const Tensor& x, const LrnParams& p) {
  cpu::Key key;
  key << kind << x.shape() << p.size << std::to_string(p.alpha) << std::to_string(p.beta)
      << std::to_string(p.k);
  return key;
}

dnnl::lrn_forward::primitive_desc forward_desc(const memory::desc& md, const LrnParams& p,
                                               bool training) {
  return {dnnl::lrn_forward::desc(
              training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference,
              dnnl::algorithm::lrn_across_channels, md, p.size, float(p.alpha), float(p.beta),
              float(p.k)),
          cpu::engine()};
}

}  // namespace

// The workspace is oneDNN's own (bytes in a u8 tensor), when the primitive keeps one.
Tensor CpuBackend::lrn_forward(const Tensor& y, const Tensor& x, const LrnParams& p,
                               bool training) {
  if (!runs_on_onednn(x, p)) return ReferenceBackend::lrn_forward(y, x, p, training);
  const cpu::SerialWhenSmall serial(x.numel() * p.size, cpu::kSmallMultiplyAdds);
  const memory::desc plain = data_md(x), md = training ? blocked_md(x) : plain;
  const cpu::Key key = key_of(training ? "lrn_fwd_training" : "lrn_fwd", x, p);
  dnnl::primitive& primitive =
      cpu::cached(key, [&] { return dnnl::lrn_forward(forward_desc(md, p, training)); });
  auto& engine = cpu::engine();
  cpu::LaidOutOutput out(md, plain, y, 0.0f, cpu::Key(key) << "y", /*hold=*/true);
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, cpu::laid_out(md, plain, x, cpu::Key(key) << "x")},
      {DNNL_ARG_DST, out.memory()}};
  Tensor workspace;
  const memory::desc ws_md = cpu::queried(primitive, dnnl::query::workspace_md);
  if (training && ws_md.get_size() > 0) {
    workspace = Tensor::empty({int64_t(ws_md.get_size())}, DType::U8);
    args.emplace(DNNL_ARG_WORKSPACE, memory(ws_md, engine, workspace.raw_data()));
  }
  primitive.execute(cpu::stream(), args);
  out.finish();
  cpu::stream().wait();
  return workspace;
}

void CpuBackend::lrn_backward(const Tensor& dx, const Tensor& dy, const Tensor& x,
                              const Tensor& workspace, const LrnParams& p) {
  if (!runs_on_onednn(x, p)) return ReferenceBackend::lrn_backward(dx, dy, x, workspace, p);
  const cpu::SerialWhenSmall serial(x.numel() * p.size, cpu::kSmallMultiplyAdds);
  const memory::desc plain = data_md(x), md = blocked_md(x);
  const cpu::Key key = key_of("lrn_bwd", x, p);
  dnnl::primitive& primitive = cpu::cached(key, [&] {
    return dnnl::lrn_backward(dnnl::lrn_backward::primitive_desc(
        dnnl::lrn_backward::desc(dnnl::algorithm::lrn_across_channels, md, md, p.size,
                                 float(p.alpha), float(p.beta), float(p.k)),
        cpu::engine(), forward_desc(md, p, true)));
  });
  auto& engine = cpu::engine();
  cpu::LaidOutOutput out(md, plain, dx, 1.0f, cpu::Key(key) << "dx");
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, cpu::laid_out(md, plain, x, cpu::Key(key) << "x")},
      {DNNL_ARG_DIFF_DST, cpu::laid_out(md, plain, dy, cpu::Key(key) << "dy")},
      {DNNL_ARG_DIFF_SRC, out.memory()}};
  if (workspace.defined())
    args.emplace(DNNL_ARG_WORKSPACE, memory(cpu::queried(primitive, dnnl::query::workspace_md),
                                            engine, workspace.raw_data()));
  primitive.execute(cpu::stream(), args);
  out.finish();
  cpu::stream().wait();
}

}  // namespace soma
