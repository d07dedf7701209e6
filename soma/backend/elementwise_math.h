#pragma once
// The scalar formulas of the elementwise ops and their derivatives, shared by both backends.
#include <cmath>
#include <type_traits>

#include "soma/backend/backend.h"

namespace soma::math {

// Calls body(UnaryConstant<op>{}). A loop over elements written against the constant compiles
// once per op, its formula's switch folded away, instead of switching on every element, which
// shows on small activations (LeNet-5's inference at batch 1).
template <UnaryOp kOp>
using UnaryConstant = std::integral_constant<UnaryOp, kOp>;

template <class Body>
void with_constant(UnaryOp op, Body&& body) {
  using enum UnaryOp;
  switch (op) {
    case Identity:
      return body(UnaryConstant<Identity>{});
    case Neg:
      return body(UnaryConstant<Neg>{});
    case Exp:
      return body(UnaryConstant<Exp>{});
    case Log:
      return body(UnaryConstant<Log>{});
    case Sqrt:
      return body(UnaryConstant<Sqrt>{});
    case Abs:
      return body(UnaryConstant<Abs>{});
    case Square:
      return body(UnaryConstant<Square>{});
    case Pow:
      return body(UnaryConstant<Pow>{});
    case Sigmoid:
      return body(UnaryConstant<Sigmoid>{});
    case Tanh:
      return body(UnaryConstant<Tanh>{});
    case Relu:
      return body(UnaryConstant<Relu>{});
    case LeakyRelu:
      return body(UnaryConstant<LeakyRelu>{});
    case Elu:
      return body(UnaryConstant<Elu>{});
    case Gelu:
      return body(UnaryConstant<Gelu>{});
    case Silu:
      return body(UnaryConstant<Silu>{});
    case Clamp:
      return body(UnaryConstant<Clamp>{});
  }
}

template <class T>
T unary(UnaryOp op, T x, UnaryParams p) {
  const T a = T(p.alpha), b = T(p.beta);
  switch (op) {
    case UnaryOp::Identity:
      return x;
    case UnaryOp::Neg:
      return -x;
    case UnaryOp::Exp:
      return std::exp(x);
    case UnaryOp::Log:
      return std::log(x);
    case UnaryOp::Sqrt:
      return std::sqrt(x);
    case UnaryOp::Abs:
      return std::abs(x);
    case UnaryOp::Square:
      return x * x;
    case UnaryOp::Pow:
      return std::pow(x, a);
    case UnaryOp::Sigmoid:
      return T(1) / (T(1) + std::exp(-x));
    case UnaryOp::Tanh:
      return std::tanh(x);
    case UnaryOp::Relu:  // NaN stays NaN, as in PyTorch
      return x > T(0) || x != x ? x : T(0);
    case UnaryOp::LeakyRelu:
      return x > T(0) ? x : a * x;
    case UnaryOp::Elu:
      return x > T(0) ? x : a * (std::exp(x) - T(1));
    case UnaryOp::Gelu:
      return T(0.5) * x * (T(1) + std::erf(x * T(M_SQRT1_2)));
    case UnaryOp::Silu:
      return x / (T(1) + std::exp(-x));
    case UnaryOp::Clamp:
      return x < a ? a : (x > b ? b : x);
  }
  return x;
}

// d op(x) / dx, given x and y = op(x).
template <class T>
T unary_derivative(UnaryOp op, T x, T y, UnaryParams p) {
  const T a = T(p.alpha), b = T(p.beta);
  switch (op) {
    case UnaryOp::Identity:
      return T(1);
    case UnaryOp::Neg:
      return T(-1);
    case UnaryOp::Exp:
      return y;
    case UnaryOp::Log:
      return T(1) / x;
    case UnaryOp::Sqrt:
      return T(0.5) / y;
    case UnaryOp::Abs:
      return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
    case UnaryOp::Square:
      return T(2) * x;
    case UnaryOp::Pow:
      return a * std::pow(x, a - T(1));
    case UnaryOp::Sigmoid:
      return y * (T(1) - y);
    case UnaryOp::Tanh:
      return T(1) - y * y;
    case UnaryOp::Relu:
      return x > T(0) ? T(1) : T(0);
    case UnaryOp::LeakyRelu:
      return x > T(0) ? T(1) : a;
    case UnaryOp::Elu:
      return x > T(0) ? T(1) : y + a;
    case UnaryOp::Gelu: {
      const T cdf = T(0.5) * (T(1) + std::erf(x * T(M_SQRT1_2)));
      const T pdf = std::exp(T(-0.5) * x * x) * T(0.3989422804014327);  // 1/sqrt(2π)
      return cdf + x * pdf;
    }
    case UnaryOp::Silu: {
      const T s = T(1) / (T(1) + std::exp(-x));
      return s * (T(1) + x * (T(1) - s));
    }
    case UnaryOp::Clamp:
      return (x >= a && x <= b) ? T(1) : T(0);
  }
  return T(1);
}

template <class T>
T binary(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::Add:
      return a + b;
    case BinaryOp::Sub:
      return a - b;
    case BinaryOp::Mul:
      return a * b;
    case BinaryOp::Div:
      return a / b;
    case BinaryOp::Maximum:
      return a > b ? a : b;
    case BinaryOp::Pow:
      return std::pow(a, b);
    case BinaryOp::AddRelu:
      return a + b > T(0) || a + b != a + b ? a + b : T(0);
  }
  return a;
}

// ∂(a op b)/∂a and ∂(a op b)/∂b. Maximum splits a tie evenly, as PyTorch does.
template <class T>
void binary_derivatives(BinaryOp op, T a, T b, T& da, T& db) {
  switch (op) {
    case BinaryOp::Add:
      da = T(1), db = T(1);
      return;
    case BinaryOp::Sub:
      da = T(1), db = T(-1);
      return;
    case BinaryOp::Mul:
      da = b, db = a;
      return;
    case BinaryOp::Div:
      da = T(1) / b, db = -a / (b * b);
      return;
    case BinaryOp::Maximum:
      da = a > b ? T(1) : (a == b ? T(0.5) : T(0));
      db = T(1) - da;
      return;
    case BinaryOp::Pow:
      da = b * std::pow(a, b - T(1));
      db = a > T(0) ? std::pow(a, b) * std::log(a) : T(0);
      return;
    case BinaryOp::AddRelu:
      da = db = a + b > T(0) ? T(1) : T(0);
      return;
  }
}

}  // namespace soma::math
