#include "soma/ops/normalization.h"

#include "soma/autograd/node.h"
#include "soma/backend/backend.h"
#include "soma/ops/pooling.h"

namespace soma {

namespace {

// running = (1 - momentum) · running + momentum · batch · correction, outside autograd.
void update_running(const Tensor& running, const Tensor& batch, double momentum,
                    double correction) {
  const Tensor batch_values = batch.to(running.dtype());
  for (int64_t c = 0; c < running.numel(); ++c) {
    const double updated =
        (1 - momentum) * running.at({c}) + momentum * correction * batch_values.at({c});
    if (running.dtype() == DType::F64)
      running.data<double>()[c] = updated;
    else
      running.data<float>()[c] = float(updated);
  }
}

// The statistics a normalisation uses: the batch's (to be written by the backend) or the running
// ones; and the checks every normalisation makes.
struct Statistics {
  Tensor mean, var;
  bool batch;
};

Statistics statistics_for(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                          const Tensor& gamma, const Tensor& beta, bool training) {
  SOMA_CHECK(x.dim() >= 2, "batch_norm: expected an input [N, C, ...], found ",
             to_string(x.shape()));
  const int64_t channels = x.size(1), count = x.numel() / channels;
  SOMA_CHECK(gamma.defined() == beta.defined(),
             "batch_norm: expected both gamma and beta or neither");
  if (gamma.defined()) check_shape(gamma, {channels}, "batch_norm gamma");
  if (beta.defined()) check_shape(beta, {channels}, "batch_norm beta");
  SOMA_CHECK(running_mean.defined() == running_var.defined(),
             "batch_norm: expected both running statistics or neither");
  if (running_mean.defined()) {
    check_shape(running_mean, {channels}, "batch_norm running_mean");
    check_shape(running_var, {channels}, "batch_norm running_var");
  }
  const bool batch = training || !running_mean.defined();
  SOMA_CHECK(!batch || count > 1, "batch_norm: expected more than one value per channel in ",
             "training, found an input ", to_string(x.shape()),
             x.size(0) == 1 ? " (a batch of one example: drop the last, smaller batch of an epoch "
                              "with drop_last)"
                            : "");
  if (!batch) return {running_mean.to(x.dtype()), running_var.to(x.dtype()), false};
  return {Tensor::empty({channels}, x.dtype()), Tensor::empty({channels}, x.dtype()), true};
}

// After the forward pass in training: the running statistics take in the batch's.
void track(const Statistics& s, const Tensor& x, const Tensor& running_mean,
           const Tensor& running_var, bool training, double momentum) {
  if (!training || !running_mean.defined()) return;
  const int64_t count = x.numel() / x.size(1);
  update_running(running_mean, s.mean, momentum, 1.0);
  update_running(running_var, s.var, momentum, double(count) / double(count - 1));
}

std::vector<Tensor> inputs_of(const Tensor& x, const Tensor& gamma, const Tensor& beta) {
  std::vector<Tensor> inputs{x};
  if (gamma.defined()) inputs.insert(inputs.end(), {gamma, beta});
  return inputs;
}

// batch_norm, followed by a ReLU with `relu`.
Tensor normalised(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& gamma, const Tensor& beta, bool training, double momentum,
                  double eps, bool relu) {
  const Statistics s = statistics_for(x, running_mean, running_var, gamma, beta, training);
  Tensor y = Tensor::empty_like(x);
  const Tensor relu_mask =
      backend().batch_norm_forward(y, x, s.mean, s.var, gamma, beta, eps, s.batch, relu);
  track(s, x, running_mean, running_var, training, momentum);
  return autograd::record(
      y, inputs_of(x, gamma, beta),
      [x, s, gamma, eps, relu_mask](const Tensor& dy, autograd::Grads& g) {
        const bool affine = gamma.defined();
        const auto [dx, accumulate] = g.needs(0) ? g.target(0) : autograd::Grads::Target{};
        backend().batch_norm_backward(dx, affine && g.needs(1) ? g[1] : Tensor(),
                                      affine && g.needs(2) ? g[2] : Tensor(), dy, x, s.mean, s.var,
                                      gamma, eps, s.batch, accumulate ? 1.0f : 0.0f, relu_mask);
      });
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& gamma, const Tensor& beta, bool training, double momentum,
                  double eps) {
  return normalised(x, running_mean, running_var, gamma, beta, training, momentum, eps, false);
}

Tensor batch_norm_relu(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                       const Tensor& gamma, const Tensor& beta, bool training, double momentum,
                       double eps) {
  return normalised(x, running_mean, running_var, gamma, beta, training, momentum, eps, true);
}

Tensor batch_norm_relu_max_pool(const Tensor& x, const Tensor& running_mean,
                                const Tensor& running_var, const Tensor& gamma, const Tensor& beta,
                                bool training, const Pool2dGeometry& pool, double momentum,
                                double eps) {
  SOMA_CHECK(pool.mode == PoolMode::Max && !pool.relu,
             "batch_norm_relu_max_pool: expected max pooling without a ReLU of its own");
  if (!backend().batch_norm_pool_fuses(x, pool))
    return pool2d(
        batch_norm_relu(x, running_mean, running_var, gamma, beta, training, momentum, eps), pool);
  const Shape shape = pool2d_shape(x.shape(), pool);
  const Statistics s = statistics_for(x, running_mean, running_var, gamma, beta, training);
  Tensor y = Tensor::empty(shape, x.dtype());
  const Tensor workspace =
      backend().batch_norm_pool_forward(y, x, s.mean, s.var, gamma, beta, eps, s.batch, pool);
  track(s, x, running_mean, running_var, training, momentum);
  return autograd::record(
      y, inputs_of(x, gamma, beta),
      [x, s, gamma, eps, workspace, pool](const Tensor& dy, autograd::Grads& g) {
        const bool affine = gamma.defined();
        const auto [dx, accumulate] = g.needs(0) ? g.target(0) : autograd::Grads::Target{};
        backend().batch_norm_pool_backward(
            dx, affine && g.needs(1) ? g[1] : Tensor(), affine && g.needs(2) ? g[2] : Tensor(), dy,
            x, s.mean, s.var, gamma, eps, s.batch, accumulate ? 1.0f : 0.0f, workspace, pool);
      });
}

Tensor local_response_norm(const Tensor& x, const LrnParams& params) {
  SOMA_CHECK(x.dim() >= 3, "local_response_norm: expected an input [N, C, ...], found ",
             to_string(x.shape()));
  SOMA_CHECK(params.size >= 1 && params.k > 0,
             "local_response_norm: expected a size >= 1 and k > 0, found size ", params.size,
             ", k ", params.k);
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  const bool training = autograd::grad_enabled() && x.requires_grad();
  const Tensor workspace = backend().lrn_forward(y, x, params, training);
  return autograd::record(y, {x}, [x, workspace, params](const Tensor& dy, autograd::Grads& g) {
    backend().lrn_backward(g[0], dy, x, workspace, params);
  });
}

}  // namespace soma
