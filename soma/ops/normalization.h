#pragma once
// Normalisation layers' arithmetic, differentiable in the input and the affine parameters.
#include "soma/backend/backend.h"
#include "soma/core/tensor.h"

namespace soma {

// Batch normalisation of x [N, C, ...] per channel (torch.nn.functional.batch_norm). In training
// it normalises with the batch's statistics and, when running_mean/running_var [C] are defined,
// updates them in place: running = (1 - momentum) · running + momentum · batch, with the unbiased
// variance. Otherwise it normalises with the running statistics. gamma and beta [C] are both
// given (affine) or both undefined. Throws soma::Error on a shape mismatch or, in training, a
// batch with one value per channel.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& gamma, const Tensor& beta, bool training, double momentum = 0.1,
                  double eps = 1e-5);

// relu(batch_norm(...)) as one op: the backends apply the ReLU as they normalise (oneDNN's
// fuse_norm_relu), sparing the activation's own passes over the values and their gradients.
Tensor batch_norm_relu(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                       const Tensor& gamma, const Tensor& beta, bool training,
                       double momentum = 0.1, double eps = 1e-5);

// max_pool2d(relu(batch_norm(...)), pool) as one op (pool: max pooling without a ReLU flag of
// its own). Where the backend fuses them (Backend::batch_norm_pool_fuses) the pooling reads the
// normalised values as they are made, and the backward pass goes from the pooled gradient to x's
// without the normalised values' gradient in between; otherwise it runs batch_norm_relu, then
// pool2d.
Tensor batch_norm_relu_max_pool(const Tensor& x, const Tensor& running_mean,
                                const Tensor& running_var, const Tensor& gamma, const Tensor& beta,
                                bool training, const Pool2dGeometry& pool, double momentum = 0.1,
                                double eps = 1e-5);

// Local response normalisation across channels of x [N, C, ...]
// (torch.nn.functional.local_response_norm); see LrnParams.
Tensor local_response_norm(const Tensor& x, const LrnParams& params = {});

}  // namespace soma
