#include "soma/data/transforms/photometric.h"

#include <algorithm>
#include <cmath>

#include "soma/data/transforms/image_ops.h"

namespace soma::data::transforms {
namespace {

// The image's values in 0..1 units as a fresh f32 [C, H, W].
Tensor unit_floats(const Tensor& image) {
  if (image.dtype() == DType::F32) return image.clone();
  Tensor out = Tensor::empty(image.shape());
  const uint8_t* in = image.data<uint8_t>();
  float* o = out.data<float>();
  const int64_t n = image.numel();
  for (int64_t i = 0; i < n; ++i) o[i] = float(in[i]) * (1.0f / 255.0f);
  return out;
}

// Clips 0..1 values and returns them in `dtype` (u8 rounds to 0..255).
Tensor clipped(const Tensor& values, DType dtype) {
  if (dtype == DType::U8) return to_bytes(values);
  Tensor out = Tensor::empty(values.shape());
  const float* in = values.data<float>();
  float* o = out.data<float>();
  const int64_t n = values.numel();
  for (int64_t i = 0; i < n; ++i) o[i] = std::clamp(in[i], 0.0f, 1.0f);
  return out;
}

// Runs `change(values, channels, plane)` on each image's 0..1 values and stores the clipped
// result.
template <typename Change>
void change_pixels(Example& example, const char* what, Change&& change) {
  for_each_image(example, what, [&](Tensor& image) {
    check_image(image, what);
    Tensor values = unit_floats(image);
    change(values.data<float>(), image.size(0), image.size(1) * image.size(2));
    image = clipped(values, image.dtype());
  });
}

// The ITU-R 601 luma torchvision uses for grey.
void grey(const float* x, int64_t channels, int64_t plane, float* out) {
  for (int64_t i = 0; i < plane; ++i)
    out[i] =
        channels == 3 ? 0.299f * x[i] + 0.587f * x[plane + i] + 0.114f * x[2 * plane + i] : x[i];
}

double factor(Rng& rng, double strength) {
  return uniform(rng, std::max(0.0, 1 - strength), 1 + strength);
}

}  // namespace

void ToFloat::apply(Example& example, Rng&) const {
  for (Field& f : example.all())
    if (f.kind == FieldKind::Image && f.value.dtype() == DType::U8) f.value = unit_floats(f.value);
}

Normalize::Normalize(std::vector<float> mean, std::vector<float> std)
    : mean_(std::move(mean)), std_(std::move(std)) {
  SOMA_CHECK(!mean_.empty() && mean_.size() == std_.size(), "normalize: ", mean_.size(),
             " means and ", std_.size(), " standard deviations");
  for (float s : std_) SOMA_CHECK(s > 0, "normalize: standard deviation ", s, " must be positive");
}

void Normalize::apply(Example& example, Rng&) const {
  for_each_image(example, "normalize", [&](Tensor& image) {
    check_image(image, "normalize");
    const int64_t channels = image.size(0), plane = image.numel() / channels;
    SOMA_CHECK(channels == int64_t(mean_.size()), "normalize: ", mean_.size(),
               " channel statistics for an image of ", channels, " channels");
    Tensor out = Tensor::empty(image.shape());
    float* o = out.data<float>();
    for (int64_t c = 0; c < channels; ++c) {
      const float scale = 1.0f / std_[size_t(c)], shift = -mean_[size_t(c)] * scale;
      if (image.dtype() == DType::U8) {
        const uint8_t* in = image.data<uint8_t>() + c * plane;
        const float u8_scale = scale / 255.0f;
        for (int64_t i = 0; i < plane; ++i) o[c * plane + i] = float(in[i]) * u8_scale + shift;
      } else {
        const float* in = image.data<float>() + c * plane;
        for (int64_t i = 0; i < plane; ++i) o[c * plane + i] = in[i] * scale + shift;
      }
    }
    image = out;
  });
}

void GaussianNoise::apply(Example& example, Rng& rng) const {
  change_pixels(example, "gaussian_noise", [&](float* x, int64_t channels, int64_t plane) {
    Tensor noise = Tensor::empty({channels * plane});
    rng.normal(noise.data<float>(), noise.numel(), 0.0f, float(std_));
    for (int64_t i = 0; i < channels * plane; ++i) x[i] += noise.data<float>()[i];
  });
}

void ColorJitter::apply(Example& example, Rng& rng) const {
  const double b = brightness_ > 0 ? factor(rng, brightness_) : 1;
  const double c = contrast_ > 0 ? factor(rng, contrast_) : 1;
  const double s = saturation_ > 0 ? factor(rng, saturation_) : 1;
  change_pixels(example, "color_jitter", [&](float* x, int64_t channels, int64_t plane) {
    const int64_t n = channels * plane;
    for (int64_t i = 0; i < n; ++i) x[i] = std::clamp(x[i] * float(b), 0.0f, 1.0f);
    if (c != 1) {
      std::vector<float> luma(static_cast<size_t>(plane));
      grey(x, channels, plane, luma.data());
      double mean = 0;
      for (float v : luma) mean += v;
      mean /= double(plane);
      for (int64_t i = 0; i < n; ++i)
        x[i] = std::clamp(float(c * x[i] + (1 - c) * mean), 0.0f, 1.0f);
    }
    if (s != 1 && channels == 3) {
      std::vector<float> luma(static_cast<size_t>(plane));
      grey(x, channels, plane, luma.data());
      for (int64_t ch = 0; ch < 3; ++ch)
        for (int64_t i = 0; i < plane; ++i)
          x[ch * plane + i] = float(s * x[ch * plane + i] + (1 - s) * luma[size_t(i)]);
    }
  });
}

void Gamma::apply(Example& example, Rng& rng) const {
  const float gamma = float(uniform(rng, low_, high_));
  change_pixels(example, "gamma", [&](float* x, int64_t channels, int64_t plane) {
    for (int64_t i = 0; i < channels * plane; ++i) x[i] = std::pow(std::max(x[i], 0.0f), gamma);
  });
}

PixelPca pixel_pca(const Tensor& images) {
  SOMA_CHECK(images.dim() == 4 && images.size(1) == 3 &&
                 (images.dtype() == DType::U8 || images.dtype() == DType::F32),
             "pixel_pca: expected RGB images u8 or f32 [N, 3, H, W], found ",
             name_of(images.dtype()), " ", to_string(images.shape()));
  const int64_t n = images.size(0), plane = images.size(2) * images.size(3);
  const double unit = images.dtype() == DType::U8 ? 1.0 / 255.0 : 1.0;
  // Sums of x and x xᵀ over all pixels, in double: 50k CIFAR images are 51M pixels.
  double sum[3] = {}, outer[3][3] = {};
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < plane; ++p) {
      double v[3];
      for (int64_t c = 0; c < 3; ++c) {
        const int64_t at = (i * 3 + c) * plane + p;
        v[c] = unit * (images.dtype() == DType::U8 ? double(images.data<uint8_t>()[at])
                                                   : double(images.data<float>()[at]));
        sum[c] += v[c];
      }
      for (int a = 0; a < 3; ++a)
        for (int b = a; b < 3; ++b) outer[a][b] += v[a] * v[b];
    }
  const double count = double(n * plane);
  double a[3][3], vectors[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
  for (int i = 0; i < 3; ++i)
    for (int j = i; j < 3; ++j)
      a[i][j] = a[j][i] = outer[i][j] / count - sum[i] / count * sum[j] / count;
  // Cyclic Jacobi: rotate away the largest off-diagonal entries until the matrix is diagonal.
  for (int sweep = 0; sweep < 50; ++sweep) {
    const double off = std::abs(a[0][1]) + std::abs(a[0][2]) + std::abs(a[1][2]);
    if (off < 1e-15) break;
    for (int p = 0; p < 2; ++p)
      for (int q = p + 1; q < 3; ++q) {
        if (std::abs(a[p][q]) < 1e-300) continue;
        const double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const double t = (theta >= 0 ? 1 : -1) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < 3; ++k) {  // A ← A J
          const double akp = a[k][p], akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (int k = 0; k < 3; ++k) {  // A ← Jᵀ A
          const double apk = a[p][k], aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (int k = 0; k < 3; ++k) {  // V ← V J
          const double vkp = vectors[k][p], vkq = vectors[k][q];
          vectors[k][p] = c * vkp - s * vkq;
          vectors[k][q] = s * vkp + c * vkq;
        }
      }
  }
  int order[3] = {0, 1, 2};
  std::sort(order, order + 3, [&](int i, int j) { return a[i][i] > a[j][j]; });
  PixelPca pca;
  for (int k = 0; k < 3; ++k) {
    pca.eigenvalues[size_t(k)] = float(a[order[k]][order[k]]);
    for (int c = 0; c < 3; ++c)
      pca.eigenvectors[size_t(k)][size_t(c)] = float(vectors[c][order[k]]);
  }
  return pca;
}

void PcaLighting::apply(Example& example, Rng& rng) const {
  float alpha[3];
  rng.normal(alpha, 3, 0.0f, float(std_));
  float shift[3] = {};
  for (int k = 0; k < 3; ++k)
    for (int c = 0; c < 3; ++c)
      shift[c] += alpha[k] * pca_.eigenvalues[size_t(k)] * pca_.eigenvectors[size_t(k)][size_t(c)];
  change_pixels(example, "pca_lighting", [&](float* x, int64_t channels, int64_t plane) {
    SOMA_CHECK(channels == 3, "pca_lighting: expected an RGB image, found ", channels, " channels");
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t i = 0; i < plane; ++i) x[c * plane + i] += shift[c];
  });
}

}  // namespace soma::data::transforms
