#pragma once
// Augmentations that move pixels: flips, shifts, crops, resizing, rotations, elastic
// distortion, cutout. Each moves an example's images, and its masks (nearest-neighbour) and boxes
// the same way; boxes that leave the image are dropped with their per-box fields' rows.
#include <utility>

#include "soma/data/transform.h"
#include "soma/data/transforms/image_ops.h"

namespace soma::data::transforms {

struct Size {
  int64_t height = 0, width = 0;
};

// What the transforms that move pixels share: a box moved partly out of the image is kept, clipped
// to it, while at least `min_visible` of its area stays inside (0: while any part does).
// Throws soma::Error on an example with no image field.
class Geometric : public Transform {
 public:
  // Throws soma::Error outside [0, 1].
  void set_min_visible(double fraction);
  double min_visible() const { return min_visible_; }

 private:
  double min_visible_ = 0;
};

// Mirrors left ↔ right with probability p. Alternating (airbench's scheme), each example's flip is
// drawn once and then reversed every epoch: a loader shows every example both ways round in any
// two consecutive epochs, which random flips leave to chance. Outside a loader (no Draw) it flips
// at random with probability 0.5.
class HorizontalFlip : public Geometric {
 public:
  explicit HorizontalFlip(double p = 0.5, bool alternate = false) : p_(p), alternate_(alternate) {}
  void apply(Example& example, Rng& rng) const override;
  void apply_drawn(Example& example, Rng& rng, const Draw& draw) const override;
  std::string name() const override { return "horizontal_flip"; }

 private:
  double p_;
  bool alternate_;
};

class VerticalFlip : public Geometric {  // mirror top ↔ bottom with probability p
 public:
  explicit VerticalFlip(double p = 0.5) : p_(p) {}
  void apply(Example& example, Rng& rng) const override;
  std::string name() const override { return "vertical_flip"; }

 private:
  double p_;
};

// Random translation by up to ±max_shift pixels in each direction, the uncovered border filled.
class Shift : public Geometric {
 public:
  explicit Shift(int64_t max_shift, double fill = 0) : max_shift_(max_shift), fill_(fill) {}
  void apply(Example& example, Rng& rng) const override;
  std::string name() const override { return "shift"; }

 private:
  int64_t max_shift_;
  double fill_;
};

// How a crop fills what lies outside the image: with a constant, or with the image mirrored at
// its edges (PyTorch's padding_mode "constant" and "reflect").
enum class PaddingMode { Constant, Reflect };

// A random size.height × size.width window of the image padded by `padding` on every side (the
// CIFAR recipe: 32×32 from 40×40; airbench's "translate": 32×32 from 36×36 reflected).
class RandomCrop : public Geometric {
 public:
  explicit RandomCrop(Size size, int64_t padding = 0, double fill = 0,
                      PaddingMode mode = PaddingMode::Constant)
      : size_(size), padding_(padding), fill_(fill), mode_(mode) {}
  void apply(Example& example, Rng& rng) const override;
  std::string name() const override { return "random_crop"; }

 private:
  Size size_;
  int64_t padding_;
  double fill_;
  PaddingMode mode_;
};

// A random window of `scale` of the image's area and `ratio` width/height, resized to `size`
// (torchvision's RandomResizedCrop; AlexNet's 224×224 patches).
class RandomResizedCrop : public Geometric {
 public:
  explicit RandomResizedCrop(Size size, std::pair<double, double> scale = {0.08, 1.0},
                             std::pair<double, double> ratio = {3.0 / 4.0, 4.0 / 3.0})
      : size_(size), scale_(scale), ratio_(ratio) {}
  void apply(Example& example, Rng& rng) const override;
  std::string name() const override { return "random_resized_crop"; }

 private:
  Size size_;
  std::pair<double, double> scale_, ratio_;
};

class CenterCrop : public Geometric {
 public:
  explicit CenterCrop(Size size) : size_(size) {}
  void apply(Example& example, Rng& rng) const override;
  std::string name() const override { return "center_crop"; }

 private:
  Size size_;
};

class Resize : public Geometric {  // bilinear (masks: nearest)
 public:
  explicit Resize(Size size) : size_(size) {}
  void apply(Example& example, Rng& rng) const override;
  std::string name() const override { return "resize"; }

 private:
  Size size_;
};

// Rotation about the centre by a uniform angle in ±degrees, bilinear, corners filled.
class Rotation : public Geometric {
 public:
  explicit Rotation(double degrees, double fill = 0) : degrees_(degrees), fill_(fill) {}
  void apply(Example& example, Rng& rng) const override;
  std::string name() const override { return "rotation"; }

 private:
  double degrees_, fill_;
};

// Elastic distortion (Simard, Steinkraus & Platt 2003): a uniform ±1 displacement field per
// pixel, smoothed by a Gaussian of `sigma` pixels and scaled by `alpha`, applied bilinearly.
// Their MNIST setting is alpha 34, sigma 4.
class ElasticDistortion : public Geometric {
 public:
  explicit ElasticDistortion(double alpha = 34, double sigma = 4) : alpha_(alpha), sigma_(sigma) {}
  void apply(Example& example, Rng& rng) const override;
  std::string name() const override { return "elastic"; }

 private:
  double alpha_, sigma_;
};

// Cutout (DeVries & Taylor 2017): a size × size square at a uniform centre (partly outside the
// image at the borders) set to `fill`, in the images only: masks, boxes and labels stay.
class Cutout : public Transform {
 public:
  explicit Cutout(int64_t size, double fill = 0) : size_(size), fill_(fill) {}
  void apply(Example& example, Rng& rng) const override;
  std::string name() const override { return "cutout"; }

 private:
  int64_t size_;
  double fill_;
};

}  // namespace soma::data::transforms
