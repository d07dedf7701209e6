#pragma once
// The kernels every op is built from, as one interface with two implementations: cpu/ (oneDNN and
// vectorised loops, the default) and reference/ (plain loops in f32 and f64, the oracle that tests
// hold the cpu backend to). Ops call backend(), which a BackendGuard can switch per thread.
//
// Conventions: outputs are preallocated with the right shape and dtype; forward kernels overwrite
// their outputs; backward kernels *accumulate* (dx += ...), as autograd needs.
#include <array>
#include <cstdint>
#include <vector>

#include "soma/core/tensor.h"

namespace soma {

enum class UnaryOp {
  Identity,
  Neg,
  Exp,
  Log,
  Sqrt,
  Abs,
  Square,
  Pow,  // Pow: x^alpha
  Sigmoid,
  Tanh,
  Relu,
  LeakyRelu,
  Elu,
  Gelu,
  Silu,   // LeakyRelu: slope alpha; Elu: alpha
  Clamp,  // to [alpha, beta]
};
// AddRelu: max(a + b, 0), a residual connection's sum and the ReLU after it in one pass.
enum class BinaryOp { Add, Sub, Mul, Div, Maximum, Pow, AddRelu };

// A 2-d convolution over NCHW tensors: x [N, C, H, W], w [O, C / groups, KH, KW], y [N, O, OH, OW]
// with OH = (H + 2·padding - dilation·(KH - 1) - 1) / stride + 1 (likewise OW). Index 0 is the
// height, 1 the width.
struct Conv2dGeometry {
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding{0, 0};
  std::array<int64_t, 2> dilation{1, 1};
  int64_t groups = 1;
};

// Max pooling, or average pooling whose divisor counts the zero padding (PyTorch's
// count_include_pad = true) or not.
enum class PoolMode { Max, Average, AverageExcludePadding };

// A 2-d pooling window over NCHW tensors: y [N, C, OH, OW] with OH = (H + 2·padding - kernel) /
// stride + 1 (likewise OW). Padding never wins a max. With `relu` (max pooling only, where the
// backend says it fuses them, see Backend::pool2d_fuses_relu) y = max(pool(x), 0), and the
// gradient flows back only where y > 0.
struct Pool2dGeometry {
  PoolMode mode = PoolMode::Max;
  std::array<int64_t, 2> kernel{2, 2};
  std::array<int64_t, 2> stride{2, 2};
  std::array<int64_t, 2> padding{0, 0};
  bool relu = false;
};

// Local response normalisation across channels (AlexNet), as torch.nn.LocalResponseNorm:
// y = x / (k + alpha / size · Σ x²)^beta, the sum over channels c - size/2 .. c + (size - 1)/2
// (those that exist).
struct LrnParams {
  int64_t size = 5;
  double alpha = 1e-4;
  double beta = 0.75;
  double k = 1;
};

// Resampling of NCHW images to a new height and width, as torch.nn.Upsample: nearest takes
// input floor(i · in / out); bilinear blends the two nearest pixels per axis, with pixel centres
// aligned (align_corners = false: source (i + ½) · in / out - ½) or corner pixels aligned (true:
// source i · (in - 1) / (out - 1)).
enum class UpsampleMode { Nearest, Bilinear };
struct Upsample2dGeometry {
  UpsampleMode mode = UpsampleMode::Nearest;
  bool align_corners = false;
};

// One layer of a recurrent network over a whole sequence, in one direction or both, as PyTorch's
// RNN (tanh or ReLU), LSTM (gates i, f, g, o) and GRU (gates r, z, n). Shapes, with T steps,
// batch N, input size C, hidden size H, D directions and G gates per cell:
// x [T, N, C] ([N, T, C] with batch_first); h0, and c0 for an LSTM, [D, N, H];
// w_ih [D, G·H, C], w_hh [D, G·H, H], b_ih, b_hh [D, G·H] (both undefined: no bias);
// outputs y [T, N, D·H] ([N, T, D·H] with batch_first), h_n, c_n [D, N, H]. Direction 1 reads
// the sequence from its end; y holds both directions' states side by side.
enum class RnnCell { Tanh, Relu, Lstm, Gru };
int64_t gates_of(RnnCell cell);
struct RnnLayer {
  RnnCell cell = RnnCell::Lstm;
  bool batch_first = false;
  Tensor x, h0, c0, w_ih, w_hh, b_ih, b_hh;
};
// The states a layer writes, or their gradients.
struct RnnStates {
  Tensor y, h_n, c_n;
};
// The gradients a layer's backward adds into; undefined ones are skipped.
struct RnnGrads {
  Tensor x, h0, c0, w_ih, w_hh, b_ih, b_hh;
};

// Scalars some unary ops take (see UnaryOp).
struct UnaryParams {
  double alpha = 0;
  double beta = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;

  // y = op(x), elementwise.
  virtual void unary_forward(UnaryOp op, const Tensor& y, const Tensor& x, UnaryParams p) = 0;
  // dx = dy * op'(x) + beta · dx (beta 0 or 1: a fresh gradient is written, not zero-filled
  // and added to); y = op(x) is passed for rules that are cheaper from it.
  virtual void unary_backward(UnaryOp op, const Tensor& dx, const Tensor& dy, const Tensor& x,
                              const Tensor& y, UnaryParams p, float beta) = 0;

  // y = a op b, with NumPy broadcasting; y has the broadcast shape and may alias a.
  virtual void binary_forward(BinaryOp op, const Tensor& y, const Tensor& a, const Tensor& b) = 0;
  // da += dy * ∂(a op b)/∂a summed over a's broadcast dims; db likewise. An undefined da or db is
  // not computed.
  virtual void binary_backward(BinaryOp op, const Tensor& da, const Tensor& db, const Tensor& dy,
                               const Tensor& a, const Tensor& b) = 0;

  // dst += src summed down to dst's shape (dst broadcasts to src's shape): reductions and the
  // gradients of broadcasting.
  virtual void sum_to(const Tensor& dst, const Tensor& src) = 0;

  // c = op(a) · op(b) + beta · c, op transposing the last two dims when asked. 2-d, or 3-d batched
  // with the batch in the first dim (a 2-d b is shared by every batch).
  virtual void matmul(const Tensor& c, const Tensor& a, const Tensor& b, bool trans_a, bool trans_b,
                      float beta) = 0;
  // y = x · wᵀ + bias for x [N, in], w [out, in], bias [out] or undefined: Linear's forward.
  virtual void linear_forward(const Tensor& y, const Tensor& x, const Tensor& w,
                              const Tensor& bias) = 0;

  // Softmax (or log-softmax) over the last dim, and its backward (from the output y).
  virtual void softmax_forward(const Tensor& y, const Tensor& x, bool log) = 0;
  virtual void softmax_backward(const Tensor& dx, const Tensor& dy, const Tensor& y, bool log) = 0;

  // Max over `dim` (values and i64 positions, dim kept as extent 1), and its backward.
  virtual void max_forward(const Tensor& values, const Tensor& indices, const Tensor& x,
                           int64_t dim) = 0;
  virtual void max_backward(const Tensor& dx, const Tensor& dy, const Tensor& indices,
                            int64_t dim) = 0;

  // y[i] = x[i, index[i]] over the last dim of x (index i64 with x's leading shape), and dx += ...
  virtual void gather_forward(const Tensor& y, const Tensor& x, const Tensor& index) = 0;
  virtual void gather_backward(const Tensor& dx, const Tensor& dy, const Tensor& index) = 0;

  // Embedding lookup: y[i, :] = weight[index[i], :] for every index (i64, any shape; y is
  // [index..., D]); backward adds dy's rows into dweight's, skipping index padding_idx (-1: none).
  virtual void embedding_forward(const Tensor& y, const Tensor& weight, const Tensor& index) = 0;
  virtual void embedding_backward(const Tensor& dweight, const Tensor& dy, const Tensor& index,
                                  int64_t padding_idx) = 0;

  // y = conv2d(x, w) + bias (bias [O] or undefined); see Conv2dGeometry.
  virtual void conv2d_forward(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& bias,
                              const Conv2dGeometry& g) = 0;
  // dx = ∂/∂x of conv2d for upstream dy, plus beta · dx (beta 0 or 1). Also the forward pass of a
  // transposed convolution.
  virtual void conv2d_backward_data(const Tensor& dx, const Tensor& dy, const Tensor& w,
                                    const Conv2dGeometry& g, float beta) = 0;
  // dw = ∂/∂w + beta · dw, and dbias += dy summed over N, OH, OW when dbias is defined.
  virtual void conv2d_backward_weights(const Tensor& dw, const Tensor& dbias, const Tensor& dy,
                                       const Tensor& x, const Conv2dGeometry& g, float beta) = 0;

  // y = pool(x); see Pool2dGeometry. With `training`, returns what max pooling's backward needs
  // (a backend-specific workspace, passed back unchanged), otherwise an undefined tensor.
  virtual Tensor pool2d_forward(const Tensor& y, const Tensor& x, const Pool2dGeometry& g,
                                bool training) = 0;
  // dx = ∂/∂x of the pooling for upstream dy, plus beta · dx (beta 0 or 1).
  virtual void pool2d_backward(const Tensor& dx, const Tensor& dy, const Tensor& workspace,
                               const Pool2dGeometry& g, float beta) = 0;
  // Whether pool2d_forward and pool2d_backward apply a ReLU after this max pooling of x into y
  // (g.relu); where not, the pooling op runs the two one after the other.
  virtual bool pool2d_fuses_relu(const Tensor& /*x*/, const Shape& /*y*/,
                                 const Pool2dGeometry& /*g*/) const {
    return false;
  }

  // Batch normalisation of x [N, C, ...] per channel: y = (x - mean) / √(var + eps) · gamma +
  // beta, then y = max(y, 0) with `relu`. With `training`, mean and var [C] are outputs (the
  // batch's mean and biased variance), otherwise inputs (running statistics). With `relu`,
  // returns what the backward pass needs for the ReLU (a backend-specific mask, passed back
  // unchanged), otherwise an undefined tensor.
  virtual Tensor batch_norm_forward(const Tensor& y, const Tensor& x, const Tensor& mean,
                                    const Tensor& var, const Tensor& gamma, const Tensor& beta,
                                    double eps, bool training, bool relu) = 0;
  // dgamma, dbeta += their gradients, dx = its gradient + dx_beta · dx (undefined ones are
  // skipped). With `training` the statistics were the batch's and dx flows through them too;
  // otherwise they were constants. relu_mask: the forward pass's return where it applied the
  // ReLU (dy then flows back only where y > 0), otherwise undefined.
  virtual void batch_norm_backward(const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta,
                                   const Tensor& dy, const Tensor& x, const Tensor& mean,
                                   const Tensor& var, const Tensor& gamma, double eps,
                                   bool training, float dx_beta, const Tensor& relu_mask) = 0;
  // y = max pooling g of batch_norm_forward's output with the ReLU, in one pass each way where
  // batch_norm_pool_fuses (otherwise the ops run the two one after the other). Returns what the
  // backward pass needs (a backend-specific workspace, passed back unchanged).
  virtual bool batch_norm_pool_fuses(const Tensor& x, const Pool2dGeometry& g) const = 0;
  virtual Tensor batch_norm_pool_forward(const Tensor& y, const Tensor& x, const Tensor& mean,
                                         const Tensor& var, const Tensor& gamma, const Tensor& beta,
                                         double eps, bool training, const Pool2dGeometry& g) = 0;
  // As batch_norm_backward, from dy the pooled output's gradient.
  virtual void batch_norm_pool_backward(const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta,
                                        const Tensor& dy, const Tensor& x, const Tensor& mean,
                                        const Tensor& var, const Tensor& gamma, double eps,
                                        bool training, float dx_beta, const Tensor& workspace,
                                        const Pool2dGeometry& g) = 0;

  // y = lrn(x) for x [N, C, H, W]; see LrnParams. With `training`, returns what the backward
  // needs beyond x (a backend-specific workspace, passed back unchanged), or an undefined tensor.
  virtual Tensor lrn_forward(const Tensor& y, const Tensor& x, const LrnParams& p,
                             bool training) = 0;
  // dx += ∂/∂x of the normalisation for upstream dy.
  virtual void lrn_backward(const Tensor& dx, const Tensor& dy, const Tensor& x,
                            const Tensor& workspace, const LrnParams& p) = 0;

  // y = x [N, C, H, W] resampled to y's height and width; see Upsample2dGeometry. The backward
  // adds each output's gradient into the inputs it was read from.
  virtual void upsample2d_forward(const Tensor& y, const Tensor& x,
                                  const Upsample2dGeometry& g) = 0;
  virtual void upsample2d_backward(const Tensor& dx, const Tensor& dy,
                                   const Upsample2dGeometry& g) = 0;

  // Runs `layer`, writing `out`; see RnnLayer. With `training`, returns what the backward needs
  // beyond the layer's tensors and outputs (a backend-specific workspace, passed back unchanged).
  virtual Tensor rnn_forward(const RnnStates& out, const RnnLayer& layer, bool training) = 0;
  // grads += the gradients of the layer's inputs and weights for upstream `d_out` (dy, dh_n and,
  // for an LSTM, dc_n; all defined), by back-propagation through time.
  virtual void rnn_backward(const RnnGrads& grads, const RnnStates& d_out, const RnnLayer& layer,
                            const RnnStates& out, const Tensor& workspace) = 0;

  // y = x with its dims reordered: y.shape[i] = x.shape[perm[i]].
  virtual void permute(const Tensor& y, const Tensor& x, const std::vector<int64_t>& perm) = 0;
  // y = x[..., start : start + y.shape[dim], ...] along dim; backward adds dy into that slice of
  // dx.
  virtual void narrow_forward(const Tensor& y, const Tensor& x, int64_t dim, int64_t start) = 0;
  virtual void narrow_backward(const Tensor& dx, const Tensor& dy, int64_t dim, int64_t start) = 0;
};

// Mixed precision, as torch.autocast with bfloat16 on the CPU: while an Autocast of BF16 holds
// on this thread, the cpu backend's convolutions, matrix products and recurrent layers read their
// f32 operands as bf16 and accumulate in f32. Products and recurrent layers write f32; a
// convolution's output and data gradient keep bf16's precision (the tensor is f32, its values are
// held in bf16 until read row-major), and the batch normalisation, activation and pooling kernels
// that read them as held stay in bf16, as PyTorch's do on bf16 tensors. Weights, weight
// gradients, optimizer state and an LSTM's cell state stay f32; every other kernel runs in f32
// as always. The reference backend ignores it. On a CPU without bf16_supported() an Autocast
// of BF16 computes in f32.
enum class Precision { F32, BF16 };
Precision autocast_precision();

// Whether this CPU runs the cpu backend's bf16 kernels: oneDNN's need AVX-512 (avx512_core) at
// the least, and soma's own vector loops are built for it.
bool bf16_supported();

class Autocast {
 public:
  explicit Autocast(Precision precision);
  ~Autocast();
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  Precision previous_;
};

// The backend ops use on this thread: the cpu backend unless a BackendGuard says otherwise.
Backend& backend();
Backend& cpu_backend();
Backend& reference_backend();

// Routes ops on this thread to `chosen` for its lifetime (tests run ops on both backends).
class BackendGuard {
 public:
  explicit BackendGuard(Backend& chosen);
  ~BackendGuard();
  BackendGuard(const BackendGuard&) = delete;
  BackendGuard& operator=(const BackendGuard&) = delete;

 private:
  Backend* previous_;
};

}  // namespace soma
