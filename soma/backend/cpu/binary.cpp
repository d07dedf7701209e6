// Binary ops and reductions as loops the compiler vectorises, for the patterns that dominate
// training: equal shapes, a scalar operand, and a row vector broadcast over rows (biases).
#include <type_traits>

#include "soma/backend/cpu/cpu_backend.h"
#include "soma/backend/elementwise_math.h"
#include "soma/core/parallel.h"

namespace soma {
namespace {

constexpr int64_t kGrain = 1 << 14;

enum class Pattern { Same, ScalarB, ScalarA, RowB, Other };

// How b (or a) broadcasts against y = a op b.
Pattern pattern_of(const Tensor& y, const Tensor& a, const Tensor& b) {
  if (a.shape() == y.shape() && b.shape() == y.shape()) return Pattern::Same;
  if (a.shape() == y.shape() && b.numel() == 1) return Pattern::ScalarB;
  if (b.shape() == y.shape() && a.numel() == 1) return Pattern::ScalarA;
  if (a.shape() == y.shape() && y.dim() >= 1 && b.numel() == y.size(-1) && b.dim() >= 1 &&
      b.size(-1) == y.size(-1))
    return Pattern::RowB;
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
  }
}

}  // namespace

void CpuBackend::binary_forward(BinaryOp op, const Tensor& y, const Tensor& a, const Tensor& b) {
  const Pattern pattern = y.dtype() == DType::F32 ? pattern_of(y, a, b) : Pattern::Other;
  if (pattern == Pattern::Other) return ReferenceBackend::binary_forward(op, y, a, b);
  const float *pa = a.data<float>(), *pb = b.data<float>();
  float* py = y.data<float>();
  const int64_t n = y.numel(), row = y.dim() ? y.size(-1) : 1;
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
