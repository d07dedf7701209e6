#pragma once
// The reference backend: every kernel as plain loops, in f32 and f64. Slow and obviously right;
// tests hold the cpu backend to it, and gradchecks run on it in f64.
#include "soma/backend/backend.h"

namespace soma {

// The ReLU that batch_norm_forward applies after the normalisation, on y in place; writes the
// mask the backward pass takes to `mask`: a byte per element of y, 1 where y > 0.
void relu_with_mask(const Tensor& y, uint8_t* mask);
// dy where that mask (its first bytes, one per element of dy) is 1, 0 elsewhere.
Tensor masked_gradient(const Tensor& dy, const Tensor& mask);

class ReferenceBackend : public Backend {
 public:
  const char* name() const override { return "reference"; }
  void unary_forward(UnaryOp op, const Tensor& y, const Tensor& x, UnaryParams p) override;
  void unary_backward(UnaryOp op, const Tensor& dx, const Tensor& dy, const Tensor& x,
                      const Tensor& y, UnaryParams p, float beta) override;
  void binary_forward(BinaryOp op, const Tensor& y, const Tensor& a, const Tensor& b) override;
  void binary_backward(BinaryOp op, const Tensor& da, const Tensor& db, const Tensor& dy,
                       const Tensor& a, const Tensor& b) override;
  void sum_to(const Tensor& dst, const Tensor& src) override;
  void matmul(const Tensor& c, const Tensor& a, const Tensor& b, bool trans_a, bool trans_b,
              float beta) override;
  void linear_forward(const Tensor& y, const Tensor& x, const Tensor& w,
                      const Tensor& bias) override;
  void softmax_forward(const Tensor& y, const Tensor& x, bool log) override;
  void softmax_backward(const Tensor& dx, const Tensor& dy, const Tensor& y, bool log) override;
  void max_forward(const Tensor& values, const Tensor& indices, const Tensor& x,
                   int64_t dim) override;
  void max_backward(const Tensor& dx, const Tensor& dy, const Tensor& indices,
                    int64_t dim) override;
  void gather_forward(const Tensor& y, const Tensor& x, const Tensor& index) override;
  void gather_backward(const Tensor& dx, const Tensor& dy, const Tensor& index) override;
  void embedding_forward(const Tensor& y, const Tensor& weight, const Tensor& index) override;
  void embedding_backward(const Tensor& dweight, const Tensor& dy, const Tensor& index,
                          int64_t padding_idx) override;
  void conv2d_forward(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& bias,
                      const Conv2dGeometry& g) override;
  void conv2d_backward_data(const Tensor& dx, const Tensor& dy, const Tensor& w,
                            const Conv2dGeometry& g, float beta) override;
  void conv2d_backward_weights(const Tensor& dw, const Tensor& dbias, const Tensor& dy,
                               const Tensor& x, const Conv2dGeometry& g, float beta) override;
  Tensor pool2d_forward(const Tensor& y, const Tensor& x, const Pool2dGeometry& g,
                        bool training) override;
  void pool2d_backward(const Tensor& dx, const Tensor& dy, const Tensor& workspace,
                       const Pool2dGeometry& g, float beta) override;
  Tensor batch_norm_forward(const Tensor& y, const Tensor& x, const Tensor& mean, const Tensor& var,
                            const Tensor& gamma, const Tensor& beta, double eps, bool training,
                            bool relu) override;
  void batch_norm_backward(const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta,
                           const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& var,
                           const Tensor& gamma, double eps, bool training, float dx_beta,
                           const Tensor& relu_mask) override;
  bool batch_norm_pool_fuses(const Tensor& x, const Pool2dGeometry& g) const override;
  Tensor batch_norm_pool_forward(const Tensor& y, const Tensor& x, const Tensor& mean,
                                 const Tensor& var, const Tensor& gamma, const Tensor& beta,
                                 double eps, bool training, const Pool2dGeometry& g) override;
  void batch_norm_pool_backward(const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta,
                                const Tensor& dy, const Tensor& x, const Tensor& mean,
                                const Tensor& var, const Tensor& gamma, double eps, bool training,
                                float dx_beta, const Tensor& workspace,
                                const Pool2dGeometry& g) override;
  Tensor lrn_forward(const Tensor& y, const Tensor& x, const LrnParams& p, bool training) override;
  void lrn_backward(const Tensor& dx, const Tensor& dy, const Tensor& x, const Tensor& workspace,
                    const LrnParams& p) override;
  void upsample2d_forward(const Tensor& y, const Tensor& x, const Upsample2dGeometry& g) override;
  void upsample2d_backward(const Tensor& dx, const Tensor& dy,
                           const Upsample2dGeometry& g) override;
  Tensor rnn_forward(const RnnStates& out, const RnnLayer& layer, bool training) override;
  void rnn_backward(const RnnGrads& grads, const RnnStates& d_out, const RnnLayer& layer,
                    const RnnStates& out, const Tensor& workspace) override;
  void permute(const Tensor& y, const Tensor& x, const std::vector<int64_t>& perm) override;
  void narrow_forward(const Tensor& y, const Tensor& x, int64_t dim, int64_t start) override;
  void narrow_backward(const Tensor& dx, const Tensor& dy, int64_t dim, int64_t start) override;
};

// Calls fn(T{}) with T = float or double after the tensor's dtype; throws for other dtypes.
template <class Fn>
void dispatch_floating(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::F32:
      return fn(float{});
    case DType::F64:
      return fn(double{});
    default:
      fail("expected an f32 or f64 tensor, found ", name_of(dtype));
  }
}

}  // namespace soma
