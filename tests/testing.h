#pragma once
// Shared test helpers: the three checks every op gets (gradcheck, reference vs cpu backend,
// PyTorch fixtures), made one line each.
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "soma/autograd/gradcheck.h"
#include "soma/backend/backend.h"
#include "soma/core/tensor.h"

// Skips a test of bf16 kernels, or of paths that exist only for AVX-512, on a CPU without them.
#define SOMA_SKIP_WITHOUT_BF16() \
  if (!::soma::bf16_supported()) \
  GTEST_SKIP() << "this CPU has no AVX-512, which bf16 and this path need"

namespace soma::testing {

// How to draw one random input: uniform in [low, high], pushed to |x| >= min_abs (to keep
// finite differences off kinks such as ReLU's at 0).
struct Input {
  Input(Shape shape, double low = -2, double high = 2, double min_abs = 0)
      : shape(std::move(shape)), low(low), high(high), min_abs(min_abs) {}
  Shape shape;
  double low, high, min_abs;
};

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;
using UnaryFn = std::function<Tensor(const Tensor&)>;

Tensor random_input(const Input& spec, Rng& rng, DType dtype);

// Analytic vs finite-difference gradients in f64 on the reference backend.
void expect_gradcheck(const Fn& fn, const std::vector<Input>& inputs,
                      const autograd::GradcheckOptions& options = {});
void expect_gradcheck(const UnaryFn& fn, const Input& input);

// Outputs and input gradients (for a random upstream gradient) of the cpu backend against the
// reference backend, in f32.
void expect_backends_agree(const Fn& fn, const std::vector<Input>& inputs, double rtol = 1e-5,
                           double atol = 1e-5);
void expect_backends_agree(const UnaryFn& fn, const Input& input, double rtol = 1e-5,
                           double atol = 1e-5);

// Output and input gradients against tests/fixtures/NAME.safetensors, written by
// tests/fixtures/make_fixtures.py with PyTorch: tensors input.K, output, grad_output, grad.K.
// Integer inputs are passed as they are and get no gradient.
void expect_matches_fixture(const std::string& name, const Fn& fn, double rtol = 1e-5,
                            double atol = 1e-6);
void expect_matches_fixture(const std::string& name, const UnaryFn& fn);

// Element-by-element |a - b| <= atol + rtol * |b|, reporting the first mismatch.
void expect_close(const Tensor& actual, const Tensor& expected, double rtol, double atol,
                  const std::string& what);

// Expects `run` to throw soma::Error with `part` in its message.
void expect_error(const std::function<void()>& run, const std::string& part);

// How many labels (i64) fall in each class 0..classes-1.
std::vector<int64_t> class_counts(const Tensor& labels, int64_t classes);

// Class maps (i64) of `shape` for per-pixel losses and metrics: position i holds i·7 mod
// `classes`, every fifth (i mod 5 = 4) `ignored` instead.
Tensor class_map(const Shape& shape, int64_t classes, int64_t ignored);
// Class maps of `shape` drawn uniformly from 0..classes-1.
Tensor random_classes(const Shape& shape, int64_t classes, uint64_t seed);

// A fresh folder under the system temp folder, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const;
  // Writes `bytes` to file(name), creating the folders on the way.
  void write(const std::string& name, const std::string& bytes) const;

 private:
  std::string path_;
};

// `bytes` compressed as a gzip stream.
std::string gzip(const std::string& bytes);

// The data root for tests that need real datasets (SOMA_DATA), or nullopt when it is not set.
std::optional<std::string> data_root();

}  // namespace soma::testing
