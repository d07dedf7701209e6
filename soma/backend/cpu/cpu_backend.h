#pragma once
// The cpu backend: oneDNN for matmul, eltwise and softmax; OpenMP loops the compiler vectorises
// for the common broadcasting patterns. f32 only: other dtypes, and patterns without a fast path,
// fall through to the reference loops it inherits.
#include <dnnl.hpp>

#include <unordered_map>

#include "soma/backend/reference/reference_backend.h"

namespace soma {

class CpuBackend : public ReferenceBackend {
 public:
  const char* name() const override { return "cpu"; }
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
  bool pool2d_fuses_relu(const Tensor& x, const Shape& y, const Pool2dGeometry& g) const override;
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
  void narrow_forward(const Tensor& y, const Tensor& x, int64_t dim, int64_t start) override;
  void narrow_backward(const Tensor& dx, const Tensor& dy, int64_t dim, int64_t start) override;
  Tensor rnn_forward(const RnnStates& out, const RnnLayer& layer, bool training) override;
  void rnn_backward(const RnnGrads& grads, const RnnStates& d_out, const RnnLayer& layer,
                    const RnnStates& out, const Tensor& workspace) override;
};

// Below this many elements an eltwise or softmax call runs the inline loops instead of oneDNN:
// a oneDNN primitive opens an OpenMP parallel region, which takes longer than relu on 2048 floats
// takes in one thread.
constexpr int64_t kInlineBelow = 2048;

// dst[i] += src[i] for n floats, in parallel.
void add_into(float* dst, const float* src, int64_t n);

// Runs a oneDNN backward primitive, which overwrites DIFF_SRC, for dx = result + beta · dx:
// straight into dx for beta 0, otherwise into a scratch tensor that is then added to dx. `args`
// holds every argument but DIFF_SRC.
void execute_accumulating(dnnl::primitive& primitive, std::unordered_map<int, dnnl::memory> args,
                          const dnnl::memory::desc& md, const Tensor& dx, float beta = 1.0f);

}  // namespace soma
