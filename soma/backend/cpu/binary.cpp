// Binary ops and reductions as loops the compiler vectorises, for the patterns that dominate
// training: equal shapes, a scalar operand, a row vector broadcast over rows (biases) and a value
// per channel broadcast over images [N, C, ...] (a transposed convolution's bias).
#include <type_traits>

#include "soma/backend/cpu/cpu_backend.h"
#include "soma/backend/cpu/dnnl_context.h"
#include "soma/backend/elementwise_math.h"
#include "soma/core/parallel.h"

namespace soma {
namespace {

constexpr int64_t kGrain = 1 << 14;

enum class Pattern { Same, ScalarB, ScalarA, RowB, ChannelB, Other };

// Whether `b` holds one value per channel of `y` [N, C, d...]: shape [1, C, 1...].
bool per_channel(const Tensor& y, const Tensor& b) {
  return y.dim() >= 3 && b.dim() == y.dim() && b.size(1) == y.size(1) && b.numel() == y.size(1);
}

// How b (or a) broadcasts against y = a op b.
Pattern pattern_of(const Tensor& y, const Tensor& a, const Tensor& b) {
  if (a.shape() == y.shape() && b.shape() == y.shape()) return Pattern::Same;
  if (a.shape() == y.shape() && b.numel() == 1) return Pattern::ScalarB;
  if (b.shape() == y.shape() && a.numel() == 1) return Pattern::ScalarA;
  if (a.shape() == y.shape() && y.dim() >= 1 && b.numel() == y.size(-1) && b.dim() >= 1 &&
      b.size(-1) == y.size(-1))
    return Pattern::RowB;
  if (a.shape() == y.shape() && per_channel(y, b)) return Pattern::ChannelB;
  return Pattern::Other;
}

// Calls fn with the op as a compile-time constant, so the loops below inline its formula.
template <class Fn>
void with_op(BinaryOp op, Fn&& fn) {
  switch (op) {
    case BinaryOp::Add:
      return fn(std::integral_constant<BinaryOp, BinaryOp::Add>{});
    case BinaryOp::Sub:
      return fn(std::integral_constant<BinaryOp, BinaryOp::Sub>{});
    case BinaryOp::Mul:
      return fn(std::integral_constant<BinaryOp, BinaryOp::Mul>{});
    case BinaryOp::Div:
      return fn(std::integral_constant<BinaryOp, BinaryOp::Div>{});
    case BinaryOp::Maximum:
      return fn(std::integral_constant<BinaryOp, BinaryOp::Maximum>{});
    case BinaryOp::Pow:
      return fn(std::integral_constant<BinaryOp, BinaryOp::Pow>{});
    case BinaryOp::AddRelu:
      return fn(std::integral_constant<BinaryOp, BinaryOp::AddRelu>{});
  }
}

// Operands of the same shape, one of them held in a convolution's layout (cpu::Held: a residual
// connection's two branches), are combined in that layout by oneDNN's binary primitive, and the
// result stays held for the next layer; in bf16 when both are held in bf16, as PyTorch adds two
// bf16 tensors. The ops are those that keep a blocked layout's padding zero (0 op 0 = 0); AddRelu
// is the addition with the ReLU as a post-op.
bool combined_as_held(BinaryOp op, const Tensor& y, const Tensor& a, const Tensor& b) {
  using dnnl::algorithm;
  const bool relu = op == BinaryOp::AddRelu;
  const algorithm kind = op == BinaryOp::Add || relu ? algorithm::binary_add
                         : op == BinaryOp::Sub       ? algorithm::binary_sub
                         : op == BinaryOp::Mul       ? algorithm::binary_mul
                         : op == BinaryOp::Maximum   ? algorithm::binary_max
                                                     : algorithm::undef;
  const auto held_a = cpu::held(a), held_b = cpu::held(b);
  const auto kept = held_a ? held_a : held_b;
  if (kind == algorithm::undef || !kept) return false;
  const dnnl::memory::desc plain = cpu::plain_f32(y.shape());
  dnnl_memory_desc_t layout = kept->memory().get_desc().data;
  if (dnnl::memory::desc(layout).dims() != plain.dims()) return false;  // a view, another shape
  const auto bf16 = [](const auto& h) {
    return h && h->memory().get_desc().data_type() == dnnl::memory::data_type::bf16;
  };
  if (!(bf16(held_a) && bf16(held_b))) layout.data_type = dnnl_f32;  // strides count elements
  const dnnl::memory::desc md(layout);
  const cpu::SerialWhenSmall serial(y.numel(), cpu::kSmallElements);
  cpu::Key key;
  key << "binary" << int64_t(kind) << int64_t(relu) << md;
  dnnl::primitive& primitive = cpu::cached(key, [&] {
    dnnl::primitive_attr attr;
    if (relu) {
      dnnl::post_ops then;
      then.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f);
      attr.set_post_ops(then);
    }
    return dnnl::binary(dnnl::binary::primitive_desc({kind, md, md, md}, attr, cpu::engine()));
  });
  cpu::LaidOutOutput out(md, plain, y, 0.0f, cpu::Key(key) << "y", /*hold=*/true);
  primitive.execute(cpu::stream(),
                    {{DNNL_ARG_SRC_0, cpu::laid_out(md, plain, a, cpu::Key(key) << "a")},
                     {DNNL_ARG_SRC_1, cpu::laid_out(md, plain, b, cpu::Key(key) << "b")},
                     {DNNL_ARG_DST, out.memory()}});
  out.finish();
  cpu::stream().wait();
  return true;
}

}  // namespace

void CpuBackend::binary_forward(BinaryOp op, const Tensor& y, const Tensor& a, const Tensor& b) {
  const Pattern pattern = y.dtype() == DType::F32 ? pattern_of(y, a, b) : Pattern::Other;
  if (pattern == Pattern::Other) return ReferenceBackend::binary_forward(op, y, a, b);
  if (pattern == Pattern::Same && combined_as_held(op, y, a, b)) return;
  const float *pa = a.data<float>(), *pb = b.data<float>();
  float* py = y.data<float>();
  const int64_t n = y.numel(), row = y.dim() ? y.size(-1) : 1;
  if (pattern == Pattern::ChannelB) {  // planes of one channel each, its value held
    const int64_t channels = y.size(1), plane = n / (y.size(0) * channels);
    return with_op(op, [&](auto constant) {
      constexpr BinaryOp kOp = decltype(constant)::value;
      parallel_for(n / plane, std::max<int64_t>(1, kGrain / plane),
                   [&](int64_t begin, int64_t end) {
                     for (int64_t p = begin; p < end; ++p) {
                       const float value = pb[p % channels];
                       for (int64_t i = p * plane; i < (p + 1) * plane; ++i)
                         py[i] = math::binary(kOp, pa[i], value);
                     }
                   });
    });
  }
  with_op(op, [&](auto constant) {
    constexpr BinaryOp kOp = decltype(constant)::value;
    parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
      switch (pattern) {
        case Pattern::Same:
          for (int64_t i = begin; i < end; ++i) py[i] = math::binary(kOp, pa[i], pb[i]);
          break;
        case Pattern::ScalarB:
          for (int64_t i = begin; i < end; ++i) py[i] = math::binary(kOp, pa[i], pb[0]);
          break;
        case Pattern::ScalarA:
          for (int64_t i = begin; i < end; ++i) py[i] = math::binary(kOp, pa[0], pb[i]);
          break;
        case Pattern::RowB:
          for (int64_t i = begin; i < end; ++i) py[i] = math::binary(kOp, pa[i], pb[i % row]);
          break;
        case Pattern::ChannelB:
        case Pattern::Other:
          break;
      }
    });
  });
}

void CpuBackend::binary_backward(BinaryOp op, const Tensor& da, const Tensor& db, const Tensor& dy,
                                 const Tensor& a, const Tensor& b) {
  if (dy.dtype() != DType::F32 || pattern_of(dy, a, b) != Pattern::Same)
    return ReferenceBackend::binary_backward(op, da, db, dy, a, b);
  const float *pa = a.data<float>(), *pb = b.data<float>(), *g = dy.data<float>();
  float* ga = da.defined() ? da.data<float>() : nullptr;
  float* gb = db.defined() ? db.data<float>() : nullptr;
  with_op(op, [&](auto constant) {
    constexpr BinaryOp kOp = decltype(constant)::value;
    parallel_for(dy.numel(), kGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        float dfa = 0, dfb = 0;
        math::binary_derivatives(kOp, pa[i], pb[i], dfa, dfb);
        if (ga) ga[i] += g[i] * dfa;
        if (gb) gb[i] += g[i] * dfb;
      }
    });
  });
}

void CpuBackend::sum_to(const Tensor& dst, const Tensor& src) {
  if (src.dtype() != DType::F32) return ReferenceBackend::sum_to(dst, src);
  const float* in = src.data<float>();
  float* out = dst.data<float>();
  if (dst.numel() == src.numel()) return add_into(out, in, src.numel());
  if (per_channel(src, dst)) {  // per channel (a transposed convolution's bias gradient)
    const int64_t channels = src.size(1), images = src.size(0);
    const int64_t plane = src.numel() / (images * channels);
    parallel_for(channels, 1, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) {
        double total = 0;
        for (int64_t n = 0; n < images; ++n) {
          const float* values = in + (n * channels + c) * plane;
          float sum = 0;
#pragma omp simd reduction(+ : sum)
          for (int64_t i = 0; i < plane; ++i) sum += values[i];
          total += sum;
        }
        out[c] += float(total);
      }
    });
    return;
  }
  const int64_t cols = src.dim() ? src.size(-1) : 1;
  const bool row_vector = dst.numel() == cols && dst.dim() >= 1 && dst.size(-1) == cols;
  if (!row_vector) return ReferenceBackend::sum_to(dst, src);
  // Column sums (a bias gradient): threads split the columns, each walks all rows.
  const int64_t rows = src.numel() / cols;
  parallel_for(cols, 64, [&](int64_t begin, int64_t end) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = begin; c < end; ++c) out[c] += in[r * cols + c];
  });
}

Backend& cpu_backend() {
  static CpuBackend instance;
  return instance;
}

}  // namespace soma
