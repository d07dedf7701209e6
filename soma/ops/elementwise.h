#pragma once
// Differentiable elementwise arithmetic. Binary ops broadcast as NumPy does; both operands must
// have the same dtype. Scalars are promoted to a tensor of the other operand's dtype.
#include "soma/autograd/node.h"
#include "soma/backend/backend.h"

namespace soma {

// y = op(x) for any UnaryOp, recorded for autograd. The building block of every unary op.
Tensor apply_unary(UnaryOp op, const Tensor& x, UnaryParams params = {});
// y = a op b with broadcasting, recorded for autograd. The building block of every binary op.
Tensor apply_binary(BinaryOp op, const Tensor& a, const Tensor& b);

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& x, double exponent);
// relu(a + b) as one op, a residual connection's sum and the ReLU after it: the ReLU applied as
// the sum is written, rather than in a pass of its own over the sum.
Tensor add_relu(const Tensor& a, const Tensor& b);

Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor square(const Tensor& x);
// Limits x to [low, high]; the gradient passes where low <= x <= high.
Tensor clamp(const Tensor& x, double low, double high);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);

}  // namespace soma
