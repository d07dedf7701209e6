// Batch normalisation: bf16 activations held channels-last (a convolution's outputs under
// Autocast, see cpu::Held) on soma's loops in cpu/batch_norm_loops, those held in other layouts
// on oneDNN's primitive, soma's NCHW tensors as vectorised loops over each channel's planes
// below. oneDNN 2.6 normalises plain NCHW with its generic `ncsp_bnorm` (its jit kernels want
// channel blocks or NHWC), slowly; the plane loops read each plane once per pass, in parallel over
// channels, and write or add the gradients in the same pass that computes them.
#include <cmath>
#include <optional>
#include <vector>

#include "soma/backend/channel_split.h"
#include "soma/backend/cpu/batch_norm_loops.h"
#include "soma/backend/cpu/cpu_backend.h"
#include "soma/backend/cpu/dnnl_context.h"
#include "soma/core/parallel.h"

namespace soma {
namespace {

// Calls body(c) for every channel, channels shared among the threads.
template <class Body>
void for_each_channel(const ChannelSplit& p, Body&& body) {
  parallel_for(p.c, std::max<int64_t>(1, 65536 / std::max<int64_t>(p.count(), 1)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t c = begin; c < end; ++c) body(c);
               });
}

// Σ x and Σ (x - shift)² over channel c's planes (one pass each, in double across planes).
double plane_sum(const float* x, const ChannelSplit& p, int64_t c) {
  double total = 0;
  for (int64_t b = 0; b < p.n; ++b) {
    const float* v = x + p.at(b, c);
    float sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < p.inner; ++i) sum += v[i];
    total += sum;
  }
  return total;
}

double plane_squares(const float* x, const ChannelSplit& p, int64_t c, float shift) {
  double total = 0;
  for (int64_t b = 0; b < p.n; ++b) {
    const float* v = x + p.at(b, c);
    float sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < p.inner; ++i) sum += (v[i] - shift) * (v[i] - shift);
    total += sum;
  }
  return total;
}

using dnnl::memory;

// The normalisation of x in the layout x is held in (by oneDNN, or by soma's loops where
// cpu::normalised_by_loops); none for NCHW, which the plane loops below serve better.
struct HeldNorm {
  memory::desc md;
  dnnl::normalization_flags flags;
  cpu::Key key;
};

HeldNorm norm_in(const memory::desc& md, const Tensor& gamma, double eps, bool training,
                 bool relu) {
  auto flags =
      training ? dnnl::normalization_flags::none : dnnl::normalization_flags::use_global_stats;
  if (gamma.defined())
    flags = flags | dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
  if (relu) flags = flags | dnnl::normalization_flags::fuse_norm_relu;
  cpu::Key key;
  key << "batch_norm" << md << int64_t(flags) << std::to_string(eps);
  return HeldNorm{md, flags, key};
}

std::optional<HeldNorm> held_norm(const Tensor& x, const Tensor& gamma, double eps, bool training,
                                  bool relu) {
  const auto kept = cpu::held(x);
  if (!kept) return std::nullopt;
  const memory::desc md = kept->memory().get_desc();
  if (md.dims() != memory::dims(x.shape().begin(), x.shape().end())) return std::nullopt;
  return norm_in(md, gamma, eps, training, relu);
}

dnnl::batch_normalization_forward::primitive_desc forward_desc(const HeldNorm& n, double eps) {
  return {{dnnl::prop_kind::forward_training, n.md, float(eps), n.flags}, cpu::engine()};
}

// Whether oneDNN runs the primitive with a jit kernel rather than reference code.
bool jit(const dnnl::primitive& primitive) {
  const char* impl = nullptr;
  dnnl_primitive_desc_query(primitive.get_primitive_desc(), dnnl_query_impl_info_str, 0, &impl);
  return impl && std::string(impl).find("jit") != std::string::npos;
}

float* data_or_null(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }

// batch_norm_forward on soma's loops (cpu::normalised_by_loops), y held as x.
Tensor normalise_held(const Tensor& y, const Tensor& x, const HeldNorm& n, const Tensor& mean,
                      const Tensor& var, const Tensor& gamma, const Tensor& beta, double eps,
                      bool training, bool relu) {
  const memory::desc plain = cpu::plain_f32(x.shape());
  const memory in = cpu::laid_out(n.md, plain, x, cpu::Key(n.key) << "x");
  cpu::LaidOutOutput out(n.md, plain, y, 0.0f, cpu::Key(n.key) << "y", /*hold=*/true);
  cpu::stream().wait();  // for x's reorder
  const Tensor workspace = relu ? cpu::workspace_for(cpu::relu_mask_bytes(n.md), n.md) : Tensor();
  cpu::batch_norm_loops_forward(
      n.md, static_cast<const bfloat16*>(in.get_data_handle()),
      static_cast<bfloat16*>(out.memory().get_data_handle()), mean.data<float>(), var.data<float>(),
      data_or_null(gamma), data_or_null(beta), eps, training,
      relu ? reinterpret_cast<uint16_t*>(workspace.data<uint8_t>()) : nullptr);
  out.finish();
  cpu::stream().wait();
  return workspace;
}

// batch_norm_backward on soma's loops, dx (if wanted) held as x.
void backpropagate_held(const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta,
                        const Tensor& dy, const Tensor& x, const HeldNorm& n, const Tensor& mean,
                        const Tensor& var, const Tensor& gamma, double eps, bool training,
                        float dx_beta, const Tensor& relu_mask) {
  const memory::desc plain = cpu::plain_f32(x.shape());
  const memory in = cpu::laid_out(n.md, plain, x, cpu::Key(n.key) << "x");
  const memory up = cpu::laid_out(n.md, plain, dy, cpu::Key(n.key) << "dy");
  std::optional<cpu::LaidOutOutput> out;
  if (dx.defined()) out.emplace(n.md, plain, dx, dx_beta, cpu::Key(n.key) << "dx", /*hold=*/true);
  cpu::stream().wait();  // for the reorders
  cpu::batch_norm_loops_backward(
      n.md, static_cast<const bfloat16*>(in.get_data_handle()),
      static_cast<const bfloat16*>(up.get_data_handle()),
      relu_mask.defined() ? reinterpret_cast<const uint16_t*>(relu_mask.data<uint8_t>()) : nullptr,
      out ? static_cast<bfloat16*>(out->memory().get_data_handle()) : nullptr, data_or_null(dgamma),
      data_or_null(dbeta), mean.data<float>(), var.data<float>(), data_or_null(gamma), eps,
      training);
  if (out) out->finish();
  cpu::stream().wait();
}

}  // namespace

// A fused ReLU runs in oneDNN's primitive (fuse_norm_relu), whose workspace marks where y > 0, a
// bit per element; the held-layout loops mark it a bit per element too (in their own order), the
// plane loops a byte per element. Every mask is followed by the record of the layout it was made
// in (cpu::workspace_for), which tells the backward pass whose mask it is: plain for the plane
// loops', one that cpu::normalised_by_loops takes for the held-layout loops'.
Tensor CpuBackend::batch_norm_forward(const Tensor& y, const Tensor& x, const Tensor& mean,
                                      const Tensor& var, const Tensor& gamma, const Tensor& beta,
                                      double eps, bool training, bool relu) {
  if (x.dtype() != DType::F32 || x.numel() == 0)
    return ReferenceBackend::batch_norm_forward(y, x, mean, var, gamma, beta, eps, training, relu);
  if (const auto n = held_norm(x, gamma, eps, training, relu)) {
    if (cpu::normalised_by_loops(n->md))
      return normalise_held(y, x, *n, mean, var, gamma, beta, eps, training, relu);
    const cpu::SerialWhenSmall serial(x.numel(), cpu::kSmallElements);
    dnnl::primitive& primitive = cpu::cached(cpu::Key(n->key) << "fwd", [&] {
      return dnnl::batch_normalization_forward(forward_desc(*n, eps));
    });
    if (jit(primitive)) {
      const memory::desc plain = cpu::plain_f32(x.shape()), stats = cpu::plain_f32({x.size(1)});
      auto& engine = cpu::engine();
      cpu::LaidOutOutput out(n->md, plain, y, 0.0f, cpu::Key(n->key) << "y", /*hold=*/true);
      std::unordered_map<int, memory> args{
          {DNNL_ARG_SRC, cpu::laid_out(n->md, plain, x, cpu::Key(n->key) << "x")},
          {DNNL_ARG_DST, out.memory()},
          {DNNL_ARG_MEAN, memory(stats, engine, mean.raw_data())},
          {DNNL_ARG_VARIANCE, memory(stats, engine, var.raw_data())}};
      if (gamma.defined()) {
        args.emplace(DNNL_ARG_SCALE, memory(stats, engine, gamma.raw_data()));
        args.emplace(DNNL_ARG_SHIFT, memory(stats, engine, beta.raw_data()));
      }
      Tensor workspace;
      if (relu) {
        const memory::desc ws = cpu::queried(primitive, dnnl::query::workspace_md);
        workspace = cpu::workspace_for(int64_t(ws.get_size()), n->md);
        args.emplace(DNNL_ARG_WORKSPACE, memory(ws, engine, workspace.raw_data()));
      }
      primitive.execute(cpu::stream(), args);
      out.finish();
      cpu::stream().wait();
      return workspace;
    }
  }
  const ChannelSplit p = split_channels(x);
  const float* in = x.data<float>();
  float* out = y.data<float>();
  float* m = mean.data<float>();
  float* v = var.data<float>();
  for_each_channel(p, [&](int64_t c) {
    if (training) {
      m[c] = float(plane_sum(in, p, c) / double(p.count()));
      v[c] = float(plane_squares(in, p, c, m[c]) / double(p.count()));
    }
    // y = x · scale + shift, with the normalisation and the affine map folded together.
    const double inv_std = 1 / std::sqrt(double(v[c]) + eps);
    const double g = gamma.defined() ? gamma.data<float>()[c] : 1.0;
    const double b = beta.defined() ? beta.data<float>()[c] : 0.0;
    const float scale = float(g * inv_std), shift = float(b - m[c] * g * inv_std);
    for (int64_t n = 0; n < p.n; ++n) {
      const float* xs = in + p.at(n, c);
      float* ys = out + p.at(n, c);
#pragma omp simd
      for (int64_t i = 0; i < p.inner; ++i) ys[i] = xs[i] * scale + shift;
    }
  });
  if (!relu) return Tensor();
  const Tensor workspace = cpu::workspace_for(y.numel(), cpu::plain_f32(y.shape()));
  relu_with_mask(y, workspace.data<uint8_t>());
  return workspace;
}

// With x̂ = (x - mean)·inv_std: dβ = Σ dy, dγ = Σ dy·x̂, and
// dx = γ·inv_std·(dy - dβ/M - x̂·dγ/M) in training (the statistics depend on x), γ·inv_std·dy
// otherwise.
void CpuBackend::batch_norm_backward(const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta,
                                     const Tensor& dy, const Tensor& x, const Tensor& mean,
                                     const Tensor& var, const Tensor& gamma, double eps,
                                     bool training, float dx_beta, const Tensor& relu_mask) {
  if (x.dtype() != DType::F32 || x.numel() == 0)
    return ReferenceBackend::batch_norm_backward(dx, dgamma, dbeta, dy, x, mean, var, gamma, eps,
                                                 training, dx_beta, relu_mask);
  const memory::desc mask_layout =
      relu_mask.defined() ? cpu::recorded_layout(relu_mask, "batch_norm_backward") : memory::desc();
  if (relu_mask.defined() && mask_layout == cpu::plain_f32(x.shape()))  // the loops' mask
    return batch_norm_backward(dx, dgamma, dbeta, masked_gradient(dy, relu_mask), x, mean, var,
                               gamma, eps, training, dx_beta, Tensor());
  const bool relu = relu_mask.defined();
  const auto n = relu           ? norm_in(mask_layout, gamma, eps, training, true)
                 : dx.defined() ? held_norm(x, gamma, eps, training, false)
                                : std::nullopt;
  if (n && cpu::normalised_by_loops(n->md))
    return backpropagate_held(dx, dgamma, dbeta, dy, x, *n, mean, var, gamma, eps, training,
                              dx_beta, relu_mask);
  // oneDNN's workspace: the primitive that wrote it computes dx (into a scratch tensor if none is
  // wanted), in the layout it was written in.
  const Tensor target = dx.defined() || !relu ? dx : Tensor::empty(x.shape());
  if (!dx.defined()) dx_beta = 0.0f;
  if (n) {
    const cpu::SerialWhenSmall serial(x.numel(), cpu::kSmallElements);
    const bool affine = gamma.defined();
    dnnl::primitive& primitive = cpu::cached(cpu::Key(n->key) << "bwd", [&] {
      return dnnl::batch_normalization_backward(dnnl::batch_normalization_backward::primitive_desc(
          {affine ? dnnl::prop_kind::backward : dnnl::prop_kind::backward_data, n->md, n->md,
           float(eps), n->flags},
          cpu::engine(), forward_desc(*n, eps)));
    });
    if (jit(primitive)) {
      const memory::desc plain = cpu::plain_f32(x.shape()), stats = cpu::plain_f32({x.size(1)});
      auto& engine = cpu::engine();
      cpu::LaidOutOutput out(n->md, plain, target, dx_beta, cpu::Key(n->key) << "dx",
                             /*hold=*/true);
      std::unordered_map<int, memory> args{
          {DNNL_ARG_SRC, cpu::laid_out(n->md, plain, x, cpu::Key(n->key) << "x")},
          {DNNL_ARG_DIFF_DST, cpu::laid_out(n->md, plain, dy, cpu::Key(n->key) << "dy")},
          {DNNL_ARG_MEAN, memory(stats, engine, mean.raw_data())},
          {DNNL_ARG_VARIANCE, memory(stats, engine, var.raw_data())},
          {DNNL_ARG_DIFF_SRC, out.memory()}};
      // The parameter gradients accumulate as every backward kernel does: computed aside, added.
      const Tensor dscale = affine ? Tensor::empty_like(gamma) : Tensor();
      const Tensor dshift = affine ? Tensor::empty_like(gamma) : Tensor();
      if (affine) {
        args.emplace(DNNL_ARG_SCALE, memory(stats, engine, gamma.raw_data()));
        // oneDNN 2.6 asks for the shift in the backward pass too; the gradients do not depend on
        // it.
        thread_local std::vector<float> zeros;
        if (zeros.size() < size_t(x.size(1))) zeros.resize(size_t(x.size(1)));
        args.emplace(DNNL_ARG_SHIFT, memory(stats, engine, zeros.data()));
        args.emplace(DNNL_ARG_DIFF_SCALE, memory(stats, engine, dscale.raw_data()));
        args.emplace(DNNL_ARG_DIFF_SHIFT, memory(stats, engine, dshift.raw_data()));
      }
      if (relu)
        args.emplace(DNNL_ARG_WORKSPACE, memory(cpu::queried(primitive, dnnl::query::workspace_md),
                                                engine, relu_mask.raw_data()));
      primitive.execute(cpu::stream(), args);
      out.finish();
      cpu::stream().wait();
      if (dgamma.defined()) add_into(dgamma.data<float>(), dscale.data<float>(), dgamma.numel());
      if (dbeta.defined()) add_into(dbeta.data<float>(), dshift.data<float>(), dbeta.numel());
      return;
    }
  }
  SOMA_CHECK(!relu, "batch_norm_backward: expected a jit kernel for the workspace of oneDNN's ",
             "fused ReLU, found none");
  const ChannelSplit p = split_channels(x);
  const float* in = x.data<float>();
  const float* up = dy.data<float>();
  for_each_channel(p, [&](int64_t c) {
    const float m = mean.data<float>()[c];
    const double inv_std = 1 / std::sqrt(double(var.data<float>()[c]) + eps);
    double sum_dy = 0, sum_dy_centred = 0;
    for (int64_t n = 0; n < p.n; ++n) {
      const float* xs = in + p.at(n, c);
      const float* gs = up + p.at(n, c);
      float a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
      for (int64_t i = 0; i < p.inner; ++i) a += gs[i], b += gs[i] * (xs[i] - m);
      sum_dy += a, sum_dy_centred += b;
    }
    const double dgamma_c = sum_dy_centred * inv_std;
    if (dbeta.defined()) dbeta.data<float>()[c] += float(sum_dy);
    if (dgamma.defined()) dgamma.data<float>()[c] += float(dgamma_c);
    if (!dx.defined()) return;
    const double g = gamma.defined() ? gamma.data<float>()[c] : 1.0;
    const double count = double(p.count());
    // dx = k·dy - k·(dβ/M) - k·inv_std·(dγ/M)·(x - mean), k = γ·inv_std.
    const float k = float(g * inv_std);
    const float bias = training ? float(g * inv_std * sum_dy / count) : 0.0f;
    const float slope = training ? float(g * inv_std * inv_std * dgamma_c / count) : 0.0f;
    const bool add = dx_beta != 0.0f;  // else dx may hold anything, NaN included
    for (int64_t n = 0; n < p.n; ++n) {
      const float* xs = in + p.at(n, c);
      const float* gs = up + p.at(n, c);
      float* out = dx.data<float>() + p.at(n, c);
#pragma omp simd
      for (int64_t i = 0; i < p.inner; ++i)
        out[i] = (add ? dx_beta * out[i] : 0.0f) + k * gs[i] - bias - slope * (xs[i] - m);
    }
  });
}

// Max pooling over 2 × 2 windows of stride 2 after the normalisation and its ReLU runs in the
// held-layout loops' pass (see cpu::batch_norm_pool_loops_forward): for the CIFAR CNN's three
// poolings the normalisation's output and its gradient never reach memory.
bool CpuBackend::batch_norm_pool_fuses(const Tensor& x, const Pool2dGeometry& g) const {
  const auto kept = cpu::held(x);
  return x.dtype() == DType::F32 && kept && x.dim() == 4 && x.size(2) % 2 == 0 &&
         x.size(3) % 2 == 0 &&
         kept->memory().get_desc().dims() == cpu::plain_f32(x.shape()).dims() &&
         cpu::normalised_by_loops(kept->memory().get_desc()) && g.mode == PoolMode::Max &&
         !g.relu && g.kernel == std::array<int64_t, 2>{2, 2} &&
         g.stride == std::array<int64_t, 2>{2, 2} && g.padding == std::array<int64_t, 2>{0, 0};
}

Tensor CpuBackend::batch_norm_pool_forward(const Tensor& y, const Tensor& x, const Tensor& mean,
                                           const Tensor& var, const Tensor& gamma,
                                           const Tensor& beta, double eps, bool training,
                                           const Pool2dGeometry& g) {
  if (!batch_norm_pool_fuses(x, g))
    return ReferenceBackend::batch_norm_pool_forward(y, x, mean, var, gamma, beta, eps, training,
                                                     g);
  const memory::desc md = cpu::held(x)->memory().get_desc();
  cpu::LaidOutOutput out(cpu::nhwc_bf16(y.shape()), cpu::plain_f32(y.shape()), y, 0.0f,
                         cpu::Key() << "batch_norm_pool_y" << md, /*hold=*/true);
  const Tensor workspace = cpu::workspace_for(cpu::pool_workspace_bytes(md), md);
  cpu::batch_norm_pool_loops_forward(
      md, static_cast<const bfloat16*>(cpu::held(x)->memory().get_data_handle()),
      static_cast<bfloat16*>(out.memory().get_data_handle()), mean.data<float>(), var.data<float>(),
      data_or_null(gamma), data_or_null(beta), eps, training, workspace.data<uint8_t>());
  out.finish();
  cpu::stream().wait();
  return workspace;
}

void CpuBackend::batch_norm_pool_backward(const Tensor& dx, const Tensor& dgamma,
                                          const Tensor& dbeta, const Tensor& dy, const Tensor& x,
                                          const Tensor& mean, const Tensor& var,
                                          const Tensor& gamma, double eps, bool training,
                                          float dx_beta, const Tensor& workspace,
                                          const Pool2dGeometry& g) {
  if (workspace.dtype() != DType::U8)  // the reference backend's, see batch_norm_pool_forward
    return ReferenceBackend::batch_norm_pool_backward(dx, dgamma, dbeta, dy, x, mean, var, gamma,
                                                      eps, training, dx_beta, workspace, g);
  // x in the layout the workspace records, even if read row-major since.
  const memory::desc md = cpu::recorded_layout(workspace, "batch_norm_pool_backward");
  const memory::desc plain = cpu::plain_f32(x.shape());
  const cpu::Key key = cpu::Key() << "batch_norm_pool" << md;
  const memory in = cpu::laid_out(md, plain, x, cpu::Key(key) << "x");
  const memory up = cpu::laid_out(cpu::nhwc_bf16(dy.shape()), cpu::plain_f32(dy.shape()), dy,
                                  cpu::Key(key) << "dy");
  std::optional<cpu::LaidOutOutput> out;
  if (dx.defined()) out.emplace(md, plain, dx, dx_beta, cpu::Key(key) << "dx", /*hold=*/true);
  cpu::stream().wait();  // for the reorders
  cpu::batch_norm_pool_loops_backward(
      md, static_cast<const bfloat16*>(in.get_data_handle()),
      static_cast<const bfloat16*>(up.get_data_handle()), workspace.data<uint8_t>(),
      out ? static_cast<bfloat16*>(out->memory().get_data_handle()) : nullptr, data_or_null(dgamma),
      data_or_null(dbeta), mean.data<float>(), var.data<float>(), data_or_null(gamma), eps,
      training);
  if (out) out->finish();
  cpu::stream().wait();
}

}  // namespace soma
