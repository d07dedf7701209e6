#include "soma/backend/reference/reference_backend.h"

namespace soma {
namespace {

// c[m, n] = sum_k A[m, k] B[k, n] + beta c[m, n], with A and B read through their strides so
// that a transpose costs nothing.
template <class T>
void gemm(T* c, const T* a, const T* b, int64_t m, int64_t n, int64_t k, int64_t a_row,
          int64_t a_col, int64_t b_row, int64_t b_col, T beta) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      T acc = 0;
      for (int64_t p = 0; p < k; ++p) acc += a[i * a_row + p * a_col] * b[p * b_row + j * b_col];
      c[i * n + j] = acc + (beta == T(0) ? T(0) : beta * c[i * n + j]);
    }
}

}  // namespace

void ReferenceBackend::matmul(const Tensor& c, const Tensor& a, const Tensor& b, bool trans_a,
                              bool trans_b, float beta) {
  dispatch_floating(c.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t batch = c.dim() == 3 ? c.size(0) : 1;
    const int64_t a_rows = a.size(-2), a_cols = a.size(-1), b_rows = b.size(-2),
                  b_cols = b.size(-1);
    const int64_t m = trans_a ? a_cols : a_rows, k = trans_a ? a_rows : a_cols;
    const int64_t n = trans_b ? b_rows : b_cols;
    const int64_t a_step = a.dim() == 3 ? a_rows * a_cols : 0;
    const int64_t b_step = b.dim() == 3 ? b_rows * b_cols : 0;
    for (int64_t i = 0; i < batch; ++i)
      gemm(c.data<T>() + i * m * n, a.data<T>() + i * a_step, b.data<T>() + i * b_step, m, n, k,
           trans_a ? 1 : a_cols, trans_a ? a_cols : 1, trans_b ? 1 : b_cols, trans_b ? b_cols : 1,
           T(beta));
  });
}

void ReferenceBackend::linear_forward(const Tensor& y, const Tensor& x, const Tensor& w,
                                      const Tensor& bias) {
  matmul(y, x, w, false, true, 0.0f);
  if (bias.defined()) binary_forward(BinaryOp::Add, y, y, bias);
}

}  // namespace soma
