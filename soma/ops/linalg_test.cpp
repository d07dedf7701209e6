#include "soma/ops/linalg.h"

#include "soma/backend/backend.h"

#include "testing.h"

namespace soma {
namespace {

using testing::expect_backends_agree;
using testing::expect_gradcheck;
using testing::Input;

Tensor matmul_of(const std::vector<Tensor>& x) { return matmul(x[0], x[1]); }
Tensor linear_of(const std::vector<Tensor>& x) { return linear(x[0], x[1], x[2]); }

TEST(Matmul, Gradcheck) {
  expect_gradcheck(matmul_of, {Input({3, 4}), Input({4, 5})});
  expect_gradcheck(matmul_of, {Input({2, 3, 4}), Input({2, 4, 5})});
  expect_gradcheck(matmul_of, {Input({2, 3, 4}), Input({4, 5})});
}

TEST(Matmul, MatchesReference) {
  for (int64_t m : {1, 3, 129})
    expect_backends_agree(matmul_of, {Input({m, 33}), Input({33, 17})}, 1e-4, 1e-4);
  expect_backends_agree(matmul_of, {Input({3, 7, 33}), Input({3, 33, 5})}, 1e-4, 1e-4);
  expect_backends_agree(matmul_of, {Input({3, 7, 33}), Input({33, 5})}, 1e-4, 1e-4);
  // Enough work for oneDNN's whole thread team (the products above run on one thread).
  expect_backends_agree(matmul_of, {Input({257, 130}), Input({130, 33})}, 1e-4, 1e-4);
  // A product of a few rows, as the cpu backend runs on sgemm, with enough work for the team.
  expect_backends_agree(matmul_of, {Input({4, 1030}), Input({1030, 300})}, 1e-4, 1e-4);
}

TEST(Matmul, BackendsAccumulateAlike) {
  // c = op(a)·op(b) + c, as backward rules call it: few rows (sgemm on cpu) and many, every
  // combination of transposes.
  Rng rng(3);
  for (int64_t rows : {3, 40})
    for (bool trans_a : {false, true})
      for (bool trans_b : {false, true}) {
        const Tensor a = Tensor::randn(trans_a ? Shape{20, rows} : Shape{rows, 20}, rng);
        const Tensor b = Tensor::randn(trans_b ? Shape{7, 20} : Shape{20, 7}, rng);
        const Tensor start = Tensor::randn({rows, 7}, rng);
        const Tensor on_cpu = start.clone(), on_reference = start.clone();
        cpu_backend().matmul(on_cpu, a, b, trans_a, trans_b, 1.0f);
        reference_backend().matmul(on_reference, a, b, trans_a, trans_b, 1.0f);
        testing::expect_close(on_cpu, on_reference, 1e-5, 1e-5,
                              "rows " + std::to_string(rows) + ", transposes " +
                                  std::to_string(trans_a) + std::to_string(trans_b));
      }
}

TEST(Matmul, MatchesPyTorch) { testing::expect_matches_fixture("matmul", matmul_of); }

TEST(Matmul, RejectsMismatchedShapes) {
  EXPECT_THROW(matmul(Tensor::zeros({2, 3}), Tensor::zeros({4, 5})), Error);
  EXPECT_THROW(matmul(Tensor::zeros({3}), Tensor::zeros({3, 5})), Error);
}

TEST(Linear, Gradcheck) {
  expect_gradcheck(linear_of, {Input({3, 4}), Input({5, 4}), Input({5})});
  expect_gradcheck([](const std::vector<Tensor>& x) { return linear(x[0], x[1]); },
                   {Input({3, 4}), Input({5, 4})});
  expect_gradcheck(linear_of, {Input({2, 3, 4}), Input({5, 4}), Input({5})});
}

TEST(Linear, MatchesReference) {
  for (int64_t n : {1, 3, 129})
    for (int64_t width : {17, 33})
      expect_backends_agree(linear_of,
                            {Input({n, width}), Input({width + 2, width}), Input({width + 2})},
                            1e-4, 1e-4);
}

TEST(Linear, Bf16AutocastAgreesWithF32Reference) {
  SOMA_SKIP_WITHOUT_BF16();
  // Products of bf16 operands (8-bit mantissas) summed in f32: about 1% of the result's scale.
  Autocast bf16(Precision::BF16);
  expect_backends_agree(linear_of, {Input({64, 100}, -1, 1), Input({30, 100}, -1, 1), Input({30})},
                        2e-2, 5e-2);
  expect_backends_agree(matmul_of, {Input({3, 7, 48}, -1, 1), Input({3, 48, 5}, -1, 1)}, 2e-2,
                        5e-2);
  // And the products do run in bf16: the result differs from f32's.
  Rng rng(1);
  const Tensor x = Tensor::randn({16, 64}, rng), w = Tensor::randn({8, 64}, rng);
  const std::vector<float> low = linear(x, w).to_vector<float>();
  Autocast f32(Precision::F32);
  EXPECT_NE(low, linear(x, w).to_vector<float>());
}

TEST(Linear, MatchesPyTorch) { testing::expect_matches_fixture("linear", linear_of); }

TEST(Linear, RejectsWrongInputWidth) {
  EXPECT_THROW(linear(Tensor::zeros({2, 3}), Tensor::zeros({4, 5})), Error);
}

}  // namespace
}  // namespace soma
