// Activations and other unary ops on oneDNN's eltwise primitives (vectorised exp, tanh, erf).
#include <optional>

#include "soma/backend/cpu/cpu_backend.h"
#include "soma/backend/cpu/dnnl_context.h"
#include "soma/core/parallel.h"

namespace soma {
namespace {

using dnnl::algorithm;

struct Eltwise {
  algorithm kind;
  float alpha, beta;
};

// oneDNN's algorithm and parameters for a UnaryOp; none where its semantics differ from ours.
std::optional<Eltwise> eltwise_of(UnaryOp op, UnaryParams p) {
  const float a = float(p.alpha), b = float(p.beta);
  switch (op) {
    case UnaryOp::Identity:
      return Eltwise{algorithm::eltwise_linear, 1, 0};
    case UnaryOp::Neg:
      return Eltwise{algorithm::eltwise_linear, -1, 0};
    case UnaryOp::Exp:
      return Eltwise{algorithm::eltwise_exp, 0, 0};
    case UnaryOp::Sqrt:
      return Eltwise{algorithm::eltwise_sqrt, 0, 0};
    case UnaryOp::Abs:
      return Eltwise{algorithm::eltwise_abs, 0, 0};
    case UnaryOp::Square:
      return Eltwise{algorithm::eltwise_square, 0, 0};
    case UnaryOp::Pow:
      return Eltwise{algorithm::eltwise_pow, 1, a};
    case UnaryOp::Sigmoid:
      return Eltwise{algorithm::eltwise_logistic, 0, 0};
    case UnaryOp::Tanh:
      return Eltwise{algorithm::eltwise_tanh, 0, 0};
    case UnaryOp::Relu:
      return Eltwise{algorithm::eltwise_relu, 0, 0};
    case UnaryOp::LeakyRelu:
      return Eltwise{algorithm::eltwise_relu, a, 0};
    case UnaryOp::Elu:
      return Eltwise{algorithm::eltwise_elu, a, 0};
    case UnaryOp::Gelu:
      return Eltwise{algorithm::eltwise_gelu_erf, 0, 0};
    case UnaryOp::Silu:
      return Eltwise{algorithm::eltwise_swish, 1, 0};
    // oneDNN's log is off by ~1e-4 relative near x = 1 (measured against PyTorch); std::log is not.
    case UnaryOp::Log:
      return std::nullopt;
    // oneDNN's clip excludes the lower bound from the gradient; PyTorch's clamp includes both.
    case UnaryOp::Clamp:
      return std::nullopt;
  }
  (void)b;
  return std::nullopt;
}

dnnl::eltwise_forward::primitive_desc forward_desc(const Eltwise& e, const dnnl::memory::desc& md) {
  return dnnl::eltwise_forward::primitive_desc(
      dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, e.kind, md, e.alpha, e.beta),
      cpu::engine());
}

// The layout a pass runs in: the one x is held in, so that activations between convolutions and
// pooling stay as they are; else any shape as the same flat vector, without the layout
// bookkeeping (which shows at LeNet-5's batch 1).
struct Layout {
  std::shared_ptr<const cpu::Held> kept;
  dnnl::memory::desc md;
  cpu::Key key;
};

Layout layout_of(const char* what, const Eltwise& e, const Tensor& x) {
  Layout l{cpu::held(x), {}, {}};
  l.md = l.kept ? l.kept->memory().get_desc() : cpu::plain_f32({x.numel()});
  l.key << what << int64_t(e.kind) << std::to_string(e.alpha) << std::to_string(e.beta)
        << x.numel();
  if (l.kept) l.key << l.md;
  return l;
}

// ReLU on the bits of n values: a negative number (-0 and -inf included) becomes +0, anything
// else (NaN of either sign too) stays. oneDNN's ReLU maps NaN to 0; PyTorch's keeps it, and so
// does this one, so that a NaN reaches the loss rather than vanish.
template <typename Bits>
void relu_keeping_nan(const Bits* x, Bits* y, int64_t n) {
  constexpr Bits kSign = Bits(1) << (8 * sizeof(Bits) - 1);
  constexpr Bits kInfinity = sizeof(Bits) == 2 ? Bits(0x7f80) : Bits(0x7f800000);
  parallel_for(n, 1 << 15, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const Bits v = x[i];
      y[i] = (v & kSign) && Bits(v & ~kSign) <= kInfinity ? Bits(0) : v;
    }
  });
}

// x → y, both laid out as `md` (f32 or bf16).
void relu_keeping_nan(const dnnl::memory::desc& md, const void* x, void* y) {
  if (md.data_type() == dnnl::memory::data_type::bf16)
    return relu_keeping_nan(static_cast<const uint16_t*>(x), static_cast<uint16_t*>(y),
                            int64_t(md.get_size() / 2));
  relu_keeping_nan(static_cast<const uint32_t*>(x), static_cast<uint32_t*>(y),
                   int64_t(md.get_size() / 4));
}

}  // namespace

void add_into(float* dst, const float* src, int64_t n) {
  parallel_for(n, 1 << 15, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) dst[i] += src[i];
  });
}

void execute_accumulating(dnnl::primitive& primitive, std::unordered_map<int, dnnl::memory> args,
                          const dnnl::memory::desc& md, const Tensor& dx, float beta) {
  if (beta == 0.0f) {
    args.emplace(DNNL_ARG_DIFF_SRC, dnnl::memory(md, cpu::engine(), dx.raw_data()));
    primitive.execute(cpu::stream(), args);
    cpu::stream().wait();
    return;
  }
  Tensor gradient = Tensor::empty_like(dx);
  args.emplace(DNNL_ARG_DIFF_SRC, dnnl::memory(md, cpu::engine(), gradient.raw_data()));
  primitive.execute(cpu::stream(), args);
  cpu::stream().wait();
  add_into(dx.data<float>(), gradient.data<float>(), dx.numel());
}

void CpuBackend::unary_forward(UnaryOp op, const Tensor& y, const Tensor& x, UnaryParams p) {
  const auto e = eltwise_of(op, p);
  if (x.dtype() != DType::F32 || !e || x.numel() < kInlineBelow)
    return ReferenceBackend::unary_forward(op, y, x, p);
  const cpu::SerialWhenSmall serial(x.numel(), cpu::kSmallElements);
  // Named, not structured bindings: lambdas capture these (clang 14 cannot capture bindings).
  const Layout layout = layout_of("eltwise_fwd", *e, x);
  const auto& kept = layout.kept;
  const dnnl::memory::desc& md = layout.md;
  const cpu::Key& key = layout.key;
  if (op == UnaryOp::Relu && !kept) return relu_keeping_nan(md, x.raw_data(), y.raw_data());
  if (op == UnaryOp::Relu) {
    cpu::LaidOutOutput out(md, cpu::plain_f32(Shape(md.dims())), y, 0.0f, cpu::Key(key) << "y",
                           /*hold=*/true);
    relu_keeping_nan(md, kept->memory().get_data_handle(), out.memory().get_data_handle());
    out.finish();
    return;
  }
  dnnl::primitive& primitive =
      cpu::cached(key, [&] { return dnnl::eltwise_forward(forward_desc(*e, md)); });
  auto& engine = cpu::engine();
  if (!kept) {
    primitive.execute(cpu::stream(), {{DNNL_ARG_SRC, dnnl::memory(md, engine, x.raw_data())},
                                      {DNNL_ARG_DST, dnnl::memory(md, engine, y.raw_data())}});
    cpu::stream().wait();
    return;
  }
  // Row-major in the held dims: x may be a view of them under another shape.
  cpu::LaidOutOutput out(md, cpu::plain_f32(Shape(md.dims())), y, 0.0f, cpu::Key(key) << "y",
                         /*hold=*/true);
  primitive.execute(cpu::stream(), {{DNNL_ARG_SRC, kept->memory()}, {DNNL_ARG_DST, out.memory()}});
  out.finish();
  cpu::stream().wait();
}

void CpuBackend::unary_backward(UnaryOp op, const Tensor& dx, const Tensor& dy, const Tensor& x,
                                const Tensor& y, UnaryParams p, float beta) {
  const auto e = eltwise_of(op, p);
  if (x.dtype() != DType::F32 || !e || x.numel() < kInlineBelow)
    return ReferenceBackend::unary_backward(op, dx, dy, x, y, p, beta);
  const cpu::SerialWhenSmall serial(x.numel(), cpu::kSmallElements);
  // As in unary_forward.
  const Layout layout = layout_of("eltwise_bwd", *e, x);
  const auto& kept = layout.kept;
  const dnnl::memory::desc& md = layout.md;
  const cpu::Key& key = layout.key;
  dnnl::primitive& primitive = cpu::cached(key, [&] {
    return dnnl::eltwise_backward(dnnl::eltwise_backward::primitive_desc(
        dnnl::eltwise_backward::desc(e->kind, md, md, e->alpha, e->beta), cpu::engine(),
        forward_desc(*e, md)));
  });
  auto& engine = cpu::engine();
  if (!kept)
    return execute_accumulating(primitive,
                                {{DNNL_ARG_SRC, dnnl::memory(md, engine, x.raw_data())},
                                 {DNNL_ARG_DIFF_DST, dnnl::memory(md, engine, dy.raw_data())}},
                                md, dx, beta);
  const dnnl::memory::desc plain = cpu::plain_f32(Shape(md.dims()));
  cpu::LaidOutOutput out(md, plain, dx, beta, cpu::Key(key) << "dx", /*hold=*/true);
  primitive.execute(cpu::stream(),
                    {{DNNL_ARG_SRC, kept->memory()},
                     {DNNL_ARG_DIFF_DST, cpu::laid_out(md, plain, dy, cpu::Key(key) << "dy")},
                     {DNNL_ARG_DIFF_SRC, out.memory()}});
  out.finish();
  cpu::stream().wait();
}

}  // namespace soma
