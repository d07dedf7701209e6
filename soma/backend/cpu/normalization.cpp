// Batch normalisation on oneDNN's batch_normalization primitive, on soma's NCHW tensors.
#include "soma/backend/cpu/cpu_backend.h"
#include "soma/backend/cpu/dnnl_context.h"

namespace soma {
namespace {

using dnnl::memory;
using dnnl::normalization_flags;

// An affine layer has both gamma and beta, the op makes sure.
normalization_flags flags_of(bool affine, bool training) {
  normalization_flags flags =
      training ? normalization_flags::none : normalization_flags::use_global_stats;
  if (affine) flags |= normalization_flags::use_scale | normalization_flags::use_shift;
  return flags;
}

dnnl::batch_normalization_forward::primitive_desc forward_desc(const memory::desc& md, double eps,
                                                               normalization_flags flags) {
  return {dnnl::batch_normalization_forward::desc(dnnl::prop_kind::forward_training, md, float(eps),
                                                  flags),
          cpu::engine()};
}

cpu::Key key_of(const char* kind, const Shape& shape, double eps, normalization_flags flags) {
  cpu::Key key;
  key << kind << shape << int64_t(eps * 1e12) << int64_t(flags);
  return key;
}

// oneDNN's 4-d (or 2-d) view of x [N, C, ...].
memory::desc data_md(const Tensor& x) {
  return x.dim() == 2
             ? cpu::plain_f32(x.shape())
             : cpu::plain_f32({x.size(0), x.size(1), x.numel() / (x.size(0) * x.size(1)), 1});
}

}  // namespace

void CpuBackend::batch_norm_forward(const Tensor& y, const Tensor& x, const Tensor& mean,
                                    const Tensor& var, const Tensor& gamma, const Tensor& beta,
                                    double eps, bool training) {
  if (x.dtype() != DType::F32 || x.numel() == 0)
    return ReferenceBackend::batch_norm_forward(y, x, mean, var, gamma, beta, eps, training);
  const memory::desc md = data_md(x), channels = cpu::plain_f32({x.size(1)});
  const normalization_flags flags = flags_of(gamma.defined(), training);
  dnnl::primitive& primitive = cpu::cached(key_of("bnorm_fwd", x.shape(), eps, flags), [&] {
    return dnnl::batch_normalization_forward(forward_desc(md, eps, flags));
  });
  auto& engine = cpu::engine();
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, memory(md, engine, x.raw_data())},
      {DNNL_ARG_DST, memory(md, engine, y.raw_data())},
      {DNNL_ARG_MEAN, memory(channels, engine, mean.raw_data())},
      {DNNL_ARG_VARIANCE, memory(channels, engine, var.raw_data())}};
  if (gamma.defined()) args.emplace(DNNL_ARG_SCALE, memory(channels, engine, gamma.raw_data()));
  if (beta.defined()) args.emplace(DNNL_ARG_SHIFT, memory(channels, engine, beta.raw_data()));
  primitive.execute(cpu::stream(), args);
  cpu::stream().wait();
}

void CpuBackend::batch_norm_backward(const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta,
                                     const Tensor& dy, const Tensor& x, const Tensor& mean,
                                     const Tensor& var, const Tensor& gamma, double eps,
                                     bool training) {
  if (x.dtype() != DType::F32 || x.numel() == 0)
    return ReferenceBackend::batch_norm_backward(dx, dgamma, dbeta, dy, x, mean, var, gamma, eps,
                                                 training);
  const memory::desc md = data_md(x), channels = cpu::plain_f32({x.size(1)});
  // oneDNN computes the scale and shift gradients only together, and dx always.
  const normalization_flags flags = flags_of(gamma.defined(), training);
  dnnl::primitive& primitive = cpu::cached(key_of("bnorm_bwd", x.shape(), eps, flags), [&] {
    return dnnl::batch_normalization_backward(dnnl::batch_normalization_backward::primitive_desc(
        dnnl::batch_normalization_backward::desc(
            gamma.defined() ? dnnl::prop_kind::backward : dnnl::prop_kind::backward_data, md, md,
            float(eps), flags),
        cpu::engine(), forward_desc(md, eps, flags)));
  });
  auto& engine = cpu::engine();
  Tensor gradient = Tensor::empty_like(x);
  Tensor dscale = gamma.defined() ? Tensor::empty_like(gamma) : Tensor();
  Tensor dshift = gamma.defined() ? Tensor::empty_like(gamma) : Tensor();
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, memory(md, engine, x.raw_data())},
      {DNNL_ARG_DIFF_DST, memory(md, engine, dy.raw_data())},
      {DNNL_ARG_MEAN, memory(channels, engine, mean.raw_data())},
      {DNNL_ARG_VARIANCE, memory(channels, engine, var.raw_data())},
      {DNNL_ARG_DIFF_SRC, memory(md, engine, gradient.raw_data())}};
  if (gamma.defined()) {
    args.emplace(DNNL_ARG_SCALE, memory(channels, engine, gamma.raw_data()));
    args.emplace(DNNL_ARG_DIFF_SCALE, memory(channels, engine, dscale.raw_data()));
    // oneDNN 2.6 asks for the shift too, though no gradient depends on it: any [C] buffer serves.
    args.emplace(DNNL_ARG_SHIFT, memory(channels, engine, gamma.raw_data()));
    args.emplace(DNNL_ARG_DIFF_SHIFT, memory(channels, engine, dshift.raw_data()));
  }
  primitive.execute(cpu::stream(), args);
  cpu::stream().wait();
  if (dx.defined()) add_into(dx.data<float>(), gradient.data<float>(), dx.numel());
  if (dgamma.defined()) add_into(dgamma.data<float>(), dscale.data<float>(), dgamma.numel());
  if (dbeta.defined()) add_into(dbeta.data<float>(), dshift.data<float>(), dbeta.numel());
}

}  // namespace soma
