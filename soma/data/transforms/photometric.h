#pragma once
// Augmentations that change pixel values, and the conversion to normalised floats. Images are u8
// (0..255) or f32 (0..1); results keep the dtype and are clipped to that range, as torchvision
// does. Masks, boxes and labels are left alone.
#include <array>
#include <vector>

#include "soma/data/transform.h"

namespace soma::data::transforms {

// u8 0..255 images → f32 0..1; other fields and dtypes pass through.
class ToFloat : public Transform {
 public:
  void apply(Example& example, Rng& rng) const override;
  std::string name() const override { return "to_float"; }
};

// (x - mean[c]) / std[c] per channel, on f32 0..1 values (u8 is converted first).
class Normalize : public Transform {
 public:
  // Throws soma::Error unless mean and std have the same length and std > 0.
  Normalize(std::vector<float> mean, std::vector<float> std);
  void apply(Example& example, Rng& rng) const override;
  std::string name() const override { return "normalize"; }

 private:
  std::vector<float> mean_, std_;
};

// Adds N(0, std²) noise to every pixel (std in 0..1 units).
class GaussianNoise : public Transform {
 public:
  explicit GaussianNoise(double std) : std_(std) {}
  void apply(Example& example, Rng& rng) const override;
  std::string name() const override { return "gaussian_noise"; }

 private:
  double std_;
};

// Light changes as torchvision's ColorJitter: brightness scales by b, contrast blends with the
// mean grey by c, saturation blends with the grey image by s, each factor uniform in
// [max(0, 1 - k), 1 + k] for its strength k (0 turns it off). Applied in that order.
class ColorJitter : public Transform {
 public:
  ColorJitter(double brightness, double contrast, double saturation)
      : brightness_(brightness), contrast_(contrast), saturation_(saturation) {}
  void apply(Example& example, Rng& rng) const override;
  std::string name() const override { return "color_jitter"; }

 private:
  double brightness_, contrast_, saturation_;
};

// Gamma jitter: x ← max · (x / max)^γ with γ uniform in [low, high].
class Gamma : public Transform {
 public:
  Gamma(double low, double high) : low_(low), high_(high) {}
  void apply(Example& example, Rng& rng) const override;
  std::string name() const override { return "gamma"; }

 private:
  double low_, high_;
};

// The principal components of a dataset's RGB pixels (0..1 units).
struct PixelPca {
  std::array<float, 3> eigenvalues{};                  // descending
  std::array<std::array<float, 3>, 3> eigenvectors{};  // eigenvectors[k] is component k
};

// Eigen-decomposition of the 3×3 covariance of the RGB pixels of `images` (u8 or f32
// [N, 3, H, W]), by Jacobi rotations. Throws soma::Error unless there are 3 channels.
PixelPca pixel_pca(const Tensor& images);

// AlexNet's "RGB intensity" augmentation (Krizhevsky et al. 2012): adds
// Σ_k α_k λ_k v_k to every pixel, α_k ~ N(0, std²) drawn once per image.
class PcaLighting : public Transform {
 public:
  PcaLighting(PixelPca pca, double std = 0.1) : pca_(pca), std_(std) {}
  void apply(Example& example, Rng& rng) const override;
  std::string name() const override { return "pca_lighting"; }

 private:
  PixelPca pca_;
  double std_;
};

}  // namespace soma::data::transforms
