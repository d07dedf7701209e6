#include "soma/data/transforms/photometric.h"

#include <gtest/gtest.h>

#include <cmath>

#include "soma/io/safetensors.h"
#include "soma/ops/elementwise.h"
#include "testing.h"

namespace soma::data::transforms {
namespace {

Example rgb(uint64_t seed = 4) {
  Rng rng(seed);
  return {(Tensor::rand({3, 16, 16}, rng) * 200.0 + 20.0).to(DType::U8),
          Tensor::scalar(3, DType::I64), FieldKind::Image};
}

double mean(const Tensor& t) {
  const Tensor f = t.to(DType::F32);
  double total = 0;
  for (float v : f.to_vector<float>()) total += v;
  return total / double(f.numel());
}

TEST(ToFloat, ScalesBytes) {
  Example e{Tensor::from(std::vector<uint8_t>{0, 51, 255}, {3}), {}, FieldKind::Image};
  Rng rng(0);
  ToFloat().apply(e, rng);
  EXPECT_EQ(e.input().dtype(), DType::F32);
  testing::expect_close(e.input(), Tensor::from({0.0f, 0.2f, 1.0f}, {3}), 1e-6, 1e-7, "to_float");
}

TEST(Normalize, PerChannelOnBytesAndFloats) {
  Example bytes{
      Tensor::from(std::vector<uint8_t>{0, 255, 51, 102}, {2, 1, 2}), {}, FieldKind::Image};
  Example floats{bytes.input().to(DType::F32) * (1.0 / 255), {}, FieldKind::Image};
  const Normalize normalize({0.5f, 0.2f}, {0.5f, 0.1f});
  Rng rng(0);
  normalize.apply(bytes, rng);
  normalize.apply(floats, rng);
  const Tensor expected = Tensor::from({-1.0f, 1.0f, 0.0f, 2.0f}, {2, 1, 2});
  testing::expect_close(bytes.input(), expected, 1e-5, 1e-6, "u8");
  testing::expect_close(floats.input(), expected, 1e-5, 1e-6, "f32");
  EXPECT_THROW(Normalize({0.5f}, {0.0f}), Error);
  Example grey{Tensor::zeros({1, 2, 2}), {}, FieldKind::Image};
  EXPECT_THROW(normalize.apply(grey, rng), Error);
}

TEST(PhotometricTransforms, EachChangesTheImageKeepsTheLabelAndIsSeeded) {
  const Example original = rgb();
  const std::vector<std::shared_ptr<Transform>> all{
      std::make_shared<GaussianNoise>(0.05),
      std::make_shared<ColorJitter>(0.4, 0, 0),
      std::make_shared<ColorJitter>(0, 0.4, 0),
      std::make_shared<ColorJitter>(0, 0, 0.4),
      std::make_shared<Gamma>(0.6, 1.6),
      std::make_shared<PcaLighting>(
          PixelPca{{0.2f, 0.02f, 0.005f},
                   {{{0.58f, 0.58f, 0.58f}, {-0.7f, 0, 0.7f}, {0.4f, -0.8f, 0.4f}}}},
          0.5)};
  for (const auto& transform : all) {
    Example a = original, b = original;
    Rng ra(9), rb(9);
    transform->apply(a, ra);
    transform->apply(b, rb);
    EXPECT_EQ(a.input().dtype(), DType::U8) << transform->name();
    EXPECT_EQ(a.input().to_vector<uint8_t>(), b.input().to_vector<uint8_t>()) << transform->name();
    EXPECT_NE(a.input().to_vector<uint8_t>(), original.input().to_vector<uint8_t>())
        << transform->name();
    EXPECT_EQ(a.target().item(), 3) << transform->name();
  }
}

TEST(ColorJitter, BrightnessScalesAndSaturationZeroIsGrey) {
  Example e = rgb();
  const double before = mean(e.input());
  // Brightness factors lie in [0.5, 1.5]: the mean moves by that factor (up to clipping).
  Rng rng(2);
  ColorJitter(0.5, 0, 0).apply(e, rng);
  const double ratio = mean(e.input()) / before;
  EXPECT_TRUE(ratio > 0.45 && ratio < 1.55 && std::abs(ratio - 1) > 1e-3) << ratio;
  // Saturation strength 1 draws factors in [0, 2]; over a few seeds a near-grey result appears.
  double smallest_spread = 1e9;
  for (int seed = 0; seed < 30; ++seed) {
    Example g = rgb();
    Rng r{uint64_t(seed)};
    ColorJitter(0, 0, 1).apply(g, r);
    const Tensor f = g.input().to(DType::F32);
    double spread = 0;
    for (int64_t i = 0; i < 256; ++i)
      spread += std::abs(f.data<float>()[i] - f.data<float>()[256 + i]) +
                std::abs(f.data<float>()[i] - f.data<float>()[512 + i]);
    smallest_spread = std::min(smallest_spread, spread / 512);
  }
  EXPECT_LT(smallest_spread, 5.0);
}

TEST(Gamma, BelowOneBrightens) {
  Example e = rgb();
  const double before = mean(e.input());
  Rng rng(0);
  Gamma(0.5, 0.6).apply(e, rng);
  EXPECT_GT(mean(e.input()), before * 1.2);
}

TEST(GaussianNoise, HasTheAskedSpread) {
  Example e{Tensor::full({1, 64, 64}, 0.5), {}, FieldKind::Image};
  Rng rng(1);
  GaussianNoise(0.1).apply(e, rng);
  double sum = 0, squares = 0;
  for (float v : e.input().to_vector<float>()) sum += v - 0.5, squares += (v - 0.5) * (v - 0.5);
  const double n = 64 * 64, variance = squares / n - (sum / n) * (sum / n);
  EXPECT_NEAR(std::sqrt(variance), 0.1, 0.01);
}

TEST(PixelPca, MatchesNumpyEigh) {
  const io::Safetensors fixture =
      io::load_safetensors(std::string(SOMA_FIXTURES_DIR) + "/pixel_pca.safetensors");
  const PixelPca pca = pixel_pca(fixture.tensors.at("images"));
  const Tensor& values = fixture.tensors.at("eigenvalues");
  const Tensor& vectors = fixture.tensors.at("eigenvectors");
  for (int64_t k = 0; k < 3; ++k) {
    EXPECT_NEAR(pca.eigenvalues[size_t(k)], values.at({k}), 1e-6) << k;
    // Eigenvectors are defined up to sign.
    double dot = 0;
    for (int64_t c = 0; c < 3; ++c)
      dot += pca.eigenvectors[size_t(k)][size_t(c)] * vectors.at({k, c});
    EXPECT_NEAR(std::abs(dot), 1.0, 1e-5) << k;
  }
  EXPECT_THROW(pixel_pca(Tensor::zeros({2, 1, 4, 4})), Error);
}

}  // namespace
}  // namespace soma::data::transforms
