#include "soma/autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "soma/autograd/node.h"
#include "soma/backend/backend.h"

namespace soma::autograd {
namespace {

// <r, fn(inputs)> without recording.
double projected(const Function& fn, const std::vector<Tensor>& inputs, const Tensor& r) {
  NoGradGuard no_grad;
  const Tensor y = fn(inputs);
  const double* py = y.data<double>();
  const double* pr = r.data<double>();
  double total = 0;
  for (int64_t i = 0; i < y.numel(); ++i) total += py[i] * pr[i];
  return total;
}

}  // namespace

GradcheckResult gradcheck(const Function& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options) {
  BackendGuard reference(reference_backend());
  std::vector<Tensor> leaves;
  for (const Tensor& input : inputs) {
    SOMA_CHECK(input.dtype() == DType::F64, "gradcheck: expected f64 inputs, found ",
               name_of(input.dtype()));
    leaves.push_back(input.detach().requires_grad_());
  }
  const Tensor y = fn(leaves);
  SOMA_CHECK(y.dtype() == DType::F64, "gradcheck: the function returned ", name_of(y.dtype()),
             ", expected f64");
  Rng rng(options.seed);
  const Tensor r = Tensor::randn(y.shape(), rng, DType::F64);
  y.backward(r);

  GradcheckResult result;
  for (size_t i = 0; i < leaves.size(); ++i) {
    double* x = leaves[i].data<double>();
    const Tensor grad = leaves[i].grad();
    for (int64_t j = 0; j < leaves[i].numel(); ++j) {
      const double saved = x[j];
      x[j] = saved + options.eps;
      const double plus = projected(fn, leaves, r);
      x[j] = saved - options.eps;
      const double minus = projected(fn, leaves, r);
      x[j] = saved;
      const double numeric = (plus - minus) / (2 * options.eps);
      const double analytic = grad.defined() ? grad.data<double>()[j] : 0.0;
      const double error = std::abs(analytic - numeric);
      result.max_error = std::max(result.max_error, error);
      if (result.ok && !(error <= options.atol + options.rtol * std::abs(numeric))) {
        std::ostringstream message;
        message << "input " << i << " element " << j << ": analytic " << analytic << ", numeric "
                << numeric;
        result.ok = false;
        result.message = message.str();
      }
    }
  }
  return result;
}

}  // namespace soma::autograd
