#include "soma/data/transforms/geometric.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace soma::data::transforms {
namespace {

// Applies `move(image, interpolation)` to the input, and with nearest sampling to a target that
// is an image (a mask [C, H, W]).
template <typename Move>
void move_both(Example& example, Move&& move) {
  check_image(example.input, "geometric transform");
  example.input = move(example.input, Interpolation::Bilinear);
  if (example.target.defined() && example.target.dim() == 3)
    example.target = move(example.target, Interpolation::Nearest);
}

void check_size(Size size, const char* what) {
  SOMA_CHECK(size.height > 0 && size.width > 0, what, ": size ", size.height, "×", size.width,
             " must be positive");
}

}  // namespace

void HorizontalFlip::apply(Example& example, Rng& rng) const {
  if (chance(rng, alternate_ ? 0.5 : p_))
    move_both(example, [](const Tensor& t, Interpolation) { return flip_horizontal(t); });
}

void HorizontalFlip::apply_drawn(Example& example, Rng& rng, const Draw& draw) const {
  if (!alternate_) return apply(example, rng);
  if (((draw.example_key & 1) != 0) != (draw.epoch % 2 == 1))
    move_both(example, [](const Tensor& t, Interpolation) { return flip_horizontal(t); });
}

void VerticalFlip::apply(Example& example, Rng& rng) const {
  if (chance(rng, p_))
    move_both(example, [](const Tensor& t, Interpolation) { return flip_vertical(t); });
}

void Shift::apply(Example& example, Rng& rng) const {
  const int64_t dy = integer(rng, -max_shift_, max_shift_),
                dx = integer(rng, -max_shift_, max_shift_);
  move_both(example, [&](const Tensor& t, Interpolation) {
    return crop(t, -dy, -dx, t.size(1), t.size(2), fill_);
  });
}

void RandomCrop::apply(Example& example, Rng& rng) const {
  check_size(size_, "random_crop");
  const int64_t h = example.input.size(1) + 2 * padding_, w = example.input.size(2) + 2 * padding_;
  SOMA_CHECK(size_.height <= h && size_.width <= w, "random_crop: ", size_.height, "×", size_.width,
             " does not fit in a padded image of ", h, "×", w);
  const int64_t top = integer(rng, 0, h - size_.height) - padding_;
  const int64_t left = integer(rng, 0, w - size_.width) - padding_;
  move_both(example, [&](const Tensor& t, Interpolation) {
    return mode_ == PaddingMode::Reflect ? crop_reflect(t, top, left, size_.height, size_.width)
                                         : crop(t, top, left, size_.height, size_.width, fill_);
  });
}

void RandomResizedCrop::apply(Example& example, Rng& rng) const {
  check_size(size_, "random_resized_crop");
  check_image(example.input, "random_resized_crop");
  const int64_t h = example.input.size(1), w = example.input.size(2);
  const double area = double(h * w);
  // torchvision's sampling: up to 10 tries of an area and a log-uniform aspect ratio that fit,
  // else the whole image cropped to the nearest allowed ratio.
  int64_t ch = 0, cw = 0, top = 0, left = 0;
  bool found = false;
  for (int attempt = 0; attempt < 10 && !found; ++attempt) {
    const double target = area * uniform(rng, scale_.first, scale_.second);
    const double ratio = std::exp(uniform(rng, std::log(ratio_.first), std::log(ratio_.second)));
    cw = int64_t(std::lround(std::sqrt(target * ratio)));
    ch = int64_t(std::lround(std::sqrt(target / ratio)));
    if (cw > 0 && ch > 0 && cw <= w && ch <= h) {
      top = integer(rng, 0, h - ch);
      left = integer(rng, 0, w - cw);
      found = true;
    }
  }
  if (!found) {
    const double ratio = double(w) / double(h);
    if (ratio < ratio_.first) {
      cw = w, ch = int64_t(std::lround(double(w) / ratio_.first));
    } else if (ratio > ratio_.second) {
      ch = h, cw = int64_t(std::lround(double(h) * ratio_.second));
    } else {
      cw = w, ch = h;
    }
    top = (h - ch) / 2, left = (w - cw) / 2;
  }
  move_both(example, [&](const Tensor& t, Interpolation interpolation) {
    return resize(crop(t, top, left, ch, cw), size_.height, size_.width, interpolation);
  });
}

void CenterCrop::apply(Example& example, Rng&) const {
  check_size(size_, "center_crop");
  move_both(example, [&](const Tensor& t, Interpolation) {
    return crop(t, (t.size(1) - size_.height) / 2, (t.size(2) - size_.width) / 2, size_.height,
                size_.width);
  });
}

void Resize::apply(Example& example, Rng&) const {
  check_size(size_, "resize");
  move_both(example, [&](const Tensor& t, Interpolation interpolation) {
    return resize(t, size_.height, size_.width, interpolation);
  });
}

void Rotation::apply(Example& example, Rng& rng) const {
  const double angle = uniform(rng, -degrees_, degrees_) * std::numbers::pi / 180;
  const float cos_a = float(std::cos(angle)), sin_a = float(std::sin(angle));
  move_both(example, [&](const Tensor& t, Interpolation interpolation) {
    const int64_t h = t.size(1), w = t.size(2);
    const float cy = float(h - 1) / 2, cx = float(w - 1) / 2;
    Tensor sy = Tensor::empty({h, w}), sx = Tensor::empty({h, w});
    // Each output pixel samples the input at its position rotated back by the angle.
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        const float u = float(x) - cx, v = float(y) - cy;
        sx.data<float>()[y * w + x] = cx + cos_a * u + sin_a * v;
        sy.data<float>()[y * w + x] = cy - sin_a * u + cos_a * v;
      }
    return remap(t, sy, sx, interpolation, fill_);
  });
}

void ElasticDistortion::apply(Example& example, Rng& rng) const {
  check_image(example.input, "elastic");
  const int64_t h = example.input.size(1), w = example.input.size(2);
  Tensor dy = Tensor::empty({h, w}), dx = Tensor::empty({h, w});
  rng.uniform(dy.data<float>(), h * w, -1.0f, 1.0f);
  rng.uniform(dx.data<float>(), h * w, -1.0f, 1.0f);
  gaussian_blur(dy, sigma_);
  gaussian_blur(dx, sigma_);
  for (int64_t i = 0; i < h * w; ++i) {
    dy.data<float>()[i] = float(i / w) + float(alpha_) * dy.data<float>()[i];
    dx.data<float>()[i] = float(i % w) + float(alpha_) * dx.data<float>()[i];
  }
  move_both(example, [&](const Tensor& t, Interpolation interpolation) {
    return remap(t, dy, dx, interpolation);
  });
}

void Cutout::apply(Example& example, Rng& rng) const {
  check_image(example.input, "cutout");
  Tensor& image = example.input;
  const int64_t channels = image.size(0), h = image.size(1), w = image.size(2);
  const int64_t cy = integer(rng, 0, h - 1), cx = integer(rng, 0, w - 1);
  const int64_t y0 = std::max<int64_t>(0, cy - size_ / 2), y1 = std::min(h, cy - size_ / 2 + size_);
  const int64_t x0 = std::max<int64_t>(0, cx - size_ / 2), x1 = std::min(w, cx - size_ / 2 + size_);
  image = image.clone();  // the dataset's own tensor may be shared
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t y = y0; y < y1; ++y)
      for (int64_t x = x0; x < x1; ++x) {
        const int64_t i = (c * h + y) * w + x;
        if (image.dtype() == DType::U8)
          image.data<uint8_t>()[i] = uint8_t(std::clamp(fill_, 0.0, 255.0));
        else
          image.data<float>()[i] = float(fill_);
      }
}

}  // namespace soma::data::transforms
