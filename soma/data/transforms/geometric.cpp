#include "soma/data/transforms/geometric.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>

namespace soma::data::transforms {
namespace {

struct MovedBox {
  std::array<float, 4> box;  // clipped to the output
  double area, visible;      // before and after clipping
};

// Where a transform sends a point of the image's plane (x, y from its top-left corner, in
// pixels): x' = scale_x·x + offset_x, y' likewise, in an output of height × width.
struct Affine {
  double scale_x = 1, offset_x = 0, scale_y = 1, offset_y = 0;
  int64_t height = 0, width = 0;
};

const Tensor& image_of(const Example& example, const char* what) {
  const Tensor& image = first_image(example, what);
  check_image(image, what);
  return image;
}

void check_boxes(const Tensor& boxes, const char* what) {
  SOMA_CHECK(boxes.dim() == 2 && boxes.size(1) == 4 && boxes.dtype() == DType::F32, what,
             ": expected f32 boxes [n, 4], found ", name_of(boxes.dtype()), " ",
             to_string(boxes.shape()));
}

// Moves each box by `box_of(x1, y1, x2, y2)`, which returns the moved box clipped to the output,
// its area before the clipping and the area left; keeps those with enough left, and returns
// their rows.
template <typename BoxOf>
std::vector<int64_t> move_boxes(Tensor& boxes, double min_visible, BoxOf&& box_of) {
  const float* in = boxes.data<float>();
  std::vector<float> moved;
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < boxes.size(0); ++i) {
    const float* box = in + 4 * i;
    const auto [moved_box, area, visible] = box_of(box[0], box[1], box[2], box[3]);
    if (visible <= 0 || visible < min_visible * area) continue;
    moved.insert(moved.end(), moved_box.begin(), moved_box.end());
    kept.push_back(i);
  }
  boxes = Tensor::from(moved, {int64_t(kept.size()), 4});
  return kept;
}

MovedBox affine_box(const Affine& a, double x1, double y1, double x2, double y2) {
  double u1 = a.scale_x * x1 + a.offset_x, u2 = a.scale_x * x2 + a.offset_x;
  double v1 = a.scale_y * y1 + a.offset_y, v2 = a.scale_y * y2 + a.offset_y;
  if (u1 > u2) std::swap(u1, u2);  // a flip
  if (v1 > v2) std::swap(v1, v2);
  const double area = (u2 - u1) * (v2 - v1);
  u1 = std::clamp(u1, 0.0, double(a.width)), u2 = std::clamp(u2, 0.0, double(a.width));
  v1 = std::clamp(v1, 0.0, double(a.height)), v2 = std::clamp(v2, 0.0, double(a.height));
  return {{float(u1), float(v1), float(u2), float(v2)}, area, (u2 - u1) * (v2 - v1)};
}

// A box after a remap (out[y, x] = in[source_y[y, x], source_x[y, x]]): the smallest box holding
// the output pixels whose source pixel centre lies in the box; visible is their count.
MovedBox remapped_box(const Tensor& source_y, const Tensor& source_x, double x1, double y1,
                      double x2, double y2) {
  const int64_t h = source_y.size(0), w = source_y.size(1);
  int64_t left = w, top = h, right = 0, bottom = 0, count = 0;
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      const double sx = source_x.data<float>()[y * w + x] + 0.5,
                   sy = source_y.data<float>()[y * w + x] + 0.5;
      if (sx < x1 || sx >= x2 || sy < y1 || sy >= y2) continue;
      left = std::min(left, x), right = std::max(right, x + 1);
      top = std::min(top, y), bottom = std::max(bottom, y + 1);
      ++count;
    }
  return {
      {float(left), float(top), float(right), float(bottom)}, (x2 - x1) * (y2 - y1), double(count)};
}

// Moves the example's fields: images by `move(image, Bilinear)`, masks by `move(mask, Nearest)`,
// boxes by `box_of`; per-box fields keep the rows of the boxes kept.
template <typename Move, typename BoxOf>
void move_fields(Example& example, const char* what, double min_visible, Move&& move,
                 BoxOf&& box_of) {
  const Tensor& image = image_of(example, what);
  const int64_t h = image.size(1), w = image.size(2);
  int64_t boxes = -1;  // how many before the move; -1: no boxes
  for (Field& f : example.all()) {
    if (f.kind == FieldKind::Image || f.kind == FieldKind::Mask) {
      check_image(f.value, what);
      SOMA_CHECK(f.value.size(1) == h && f.value.size(2) == w, what, ": ", f.name, " ",
                 to_string(f.value.shape()), " is not the size of the image ",
                 to_string(image.shape()));
    } else if (f.kind == FieldKind::Boxes) {
      SOMA_CHECK(boxes < 0, what, ": the example has more than one field of boxes (",
                 example.names(), ")");
      check_boxes(f.value, what);
      boxes = f.value.size(0);
    }
  }
  for (const Field& f : example.all())
    if (f.kind == FieldKind::PerBox)
      SOMA_CHECK(f.value.dim() >= 1 && f.value.size(0) == std::max<int64_t>(boxes, 0), what, ": ",
                 f.name, " ", to_string(f.value.shape()), " has not one row for each of ",
                 std::max<int64_t>(boxes, 0), " boxes");
  std::vector<int64_t> kept;
  for (Field& f : example.all())
    if (f.kind == FieldKind::Boxes) kept = move_boxes(f.value, min_visible, box_of);
  for (Field& f : example.all()) {
    if (f.kind == FieldKind::Image || f.kind == FieldKind::Mask)
      f.value = move(f.value,
                     f.kind == FieldKind::Image ? Interpolation::Bilinear : Interpolation::Nearest);
    else if (f.kind == FieldKind::PerBox)
      f.value = rows(f.value, kept);
  }
}

template <typename Move>
void move_affine(Example& example, const char* what, double min_visible, const Affine& affine,
                 Move&& move) {
  move_fields(example, what, min_visible, move, [&](double x1, double y1, double x2, double y2) {
    return affine_box(affine, x1, y1, x2, y2);
  });
}

template <typename Move>
void move_remapped(Example& example, const char* what, double min_visible, const Tensor& source_y,
                   const Tensor& source_x, Move&& move) {
  move_fields(example, what, min_visible, move, [&](double x1, double y1, double x2, double y2) {
    return remapped_box(source_y, source_x, x1, y1, x2, y2);
  });
}

void check_size(Size size, const char* what) {
  SOMA_CHECK(size.height > 0 && size.width > 0, what, ": size ", size.height, "×", size.width,
             " must be positive");
}

}  // namespace

void Geometric::set_min_visible(double fraction) {
  SOMA_CHECK(fraction >= 0 && fraction <= 1, name(), ": min_visible must be in [0, 1], found ",
             fraction);
  min_visible_ = fraction;
}

namespace {

void flip(Example& example, const char* what, double min_visible, bool horizontal) {
  const Tensor& image = image_of(example, what);
  const double h = double(image.size(1)), w = double(image.size(2));
  const Affine mirror = horizontal ? Affine{-1, w, 1, 0, image.size(1), image.size(2)}
                                   : Affine{1, 0, -1, h, image.size(1), image.size(2)};
  move_affine(example, what, min_visible, mirror, [&](const Tensor& t, Interpolation) {
    return horizontal ? flip_horizontal(t) : flip_vertical(t);
  });
}

// The window [top, top + height) × [left, left + width) of every image, mask and box set.
template <typename Crop>
void crop_all(Example& example, const char* what, double min_visible, int64_t top, int64_t left,
              int64_t height, int64_t width, Crop&& crop) {
  const Affine window{1, -double(left), 1, -double(top), height, width};
  move_affine(example, what, min_visible, window, crop);
}

}  // namespace

void HorizontalFlip::apply(Example& example, Rng& rng) const {
  image_of(example, "horizontal_flip");
  if (chance(rng, alternate_ ? 0.5 : p_)) flip(example, "horizontal_flip", min_visible(), true);
}

void HorizontalFlip::apply_drawn(Example& example, Rng& rng, const Draw& draw) const {
  if (!alternate_) return apply(example, rng);
  image_of(example, "horizontal_flip");
  if (((draw.example_key & 1) != 0) != (draw.epoch % 2 == 1))
    flip(example, "horizontal_flip", min_visible(), true);
}

void VerticalFlip::apply(Example& example, Rng& rng) const {
  image_of(example, "vertical_flip");
  if (chance(rng, p_)) flip(example, "vertical_flip", min_visible(), false);
}

void Shift::apply(Example& example, Rng& rng) const {
  const Tensor& image = image_of(example, "shift");
  const int64_t h = image.size(1), w = image.size(2);
  const int64_t dy = integer(rng, -max_shift_, max_shift_),
                dx = integer(rng, -max_shift_, max_shift_);
  crop_all(example, "shift", min_visible(), -dy, -dx, h, w,
           [&](const Tensor& t, Interpolation) { return crop(t, -dy, -dx, h, w, fill_); });
}

void RandomCrop::apply(Example& example, Rng& rng) const {
  check_size(size_, "random_crop");
  const Tensor& image = image_of(example, "random_crop");
  const int64_t h = image.size(1) + 2 * padding_, w = image.size(2) + 2 * padding_;
  SOMA_CHECK(size_.height <= h && size_.width <= w, "random_crop: ", size_.height, "×", size_.width,
             " does not fit in a padded image of ", h, "×", w);
  const int64_t top = integer(rng, 0, h - size_.height) - padding_;
  const int64_t left = integer(rng, 0, w - size_.width) - padding_;
  crop_all(example, "random_crop", min_visible(), top, left, size_.height, size_.width,
           [&](const Tensor& t, Interpolation) {
             return mode_ == PaddingMode::Reflect
                        ? crop_reflect(t, top, left, size_.height, size_.width)
                        : crop(t, top, left, size_.height, size_.width, fill_);
           });
}

void RandomResizedCrop::apply(Example& example, Rng& rng) const {
  check_size(size_, "random_resized_crop");
  const Tensor& image = image_of(example, "random_resized_crop");
  const int64_t h = image.size(1), w = image.size(2);
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
  const double sx = double(size_.width) / double(cw), sy = double(size_.height) / double(ch);
  const Affine window{sx, -sx * double(left), sy, -sy * double(top), size_.height, size_.width};
  move_affine(example, "random_resized_crop", min_visible(), window,
              [&](const Tensor& t, Interpolation interpolation) {
                return resize(crop(t, top, left, ch, cw), size_.height, size_.width, interpolation);
              });
}

void CenterCrop::apply(Example& example, Rng&) const {
  check_size(size_, "center_crop");
  const Tensor& image = image_of(example, "center_crop");
  const int64_t top = (image.size(1) - size_.height) / 2, left = (image.size(2) - size_.width) / 2;
  crop_all(example, "center_crop", min_visible(), top, left, size_.height, size_.width,
           [&](const Tensor& t, Interpolation) {
             return crop(t, top, left, size_.height, size_.width);
           });
}

void Resize::apply(Example& example, Rng&) const {
  check_size(size_, "resize");
  const Tensor& image = image_of(example, "resize");
  const double sx = double(size_.width) / double(image.size(2)),
               sy = double(size_.height) / double(image.size(1));
  move_affine(example, "resize", min_visible(), {sx, 0, sy, 0, size_.height, size_.width},
              [&](const Tensor& t, Interpolation interpolation) {
                return resize(t, size_.height, size_.width, interpolation);
              });
}

void Rotation::apply(Example& example, Rng& rng) const {
  const Tensor& image = image_of(example, "rotation");
  const int64_t h = image.size(1), w = image.size(2);
  const double angle = uniform(rng, -degrees_, degrees_) * std::numbers::pi / 180;
  const float cos_a = float(std::cos(angle)), sin_a = float(std::sin(angle));
  const float cy = float(h - 1) / 2, cx = float(w - 1) / 2;
  Tensor sy = Tensor::empty({h, w}), sx = Tensor::empty({h, w});
  // Each output pixel samples the input at its position rotated back by the angle.
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      const float u = float(x) - cx, v = float(y) - cy;
      sx.data<float>()[y * w + x] = cx + cos_a * u + sin_a * v;
      sy.data<float>()[y * w + x] = cy - sin_a * u + cos_a * v;
    }
  move_remapped(example, "rotation", min_visible(), sy, sx,
                [&](const Tensor& t, Interpolation interpolation) {
                  return remap(t, sy, sx, interpolation, fill_);
                });
}

void ElasticDistortion::apply(Example& example, Rng& rng) const {
  const Tensor& image = image_of(example, "elastic");
  const int64_t h = image.size(1), w = image.size(2);
  Tensor dy = Tensor::empty({h, w}), dx = Tensor::empty({h, w});
  rng.uniform(dy.data<float>(), h * w, -1.0f, 1.0f);
  rng.uniform(dx.data<float>(), h * w, -1.0f, 1.0f);
  gaussian_blur(dy, sigma_);
  gaussian_blur(dx, sigma_);
  for (int64_t i = 0; i < h * w; ++i) {
    dy.data<float>()[i] = float(i / w) + float(alpha_) * dy.data<float>()[i];
    dx.data<float>()[i] = float(i % w) + float(alpha_) * dx.data<float>()[i];
  }
  move_remapped(example, "elastic", min_visible(), dy, dx,
                [&](const Tensor& t, Interpolation interpolation) {
                  return remap(t, dy, dx, interpolation);
                });
}

void Cutout::apply(Example& example, Rng& rng) const {
  const Tensor& first = image_of(example, "cutout");
  const int64_t h = first.size(1), w = first.size(2);
  const int64_t cy = integer(rng, 0, h - 1), cx = integer(rng, 0, w - 1);
  const int64_t y0 = std::max<int64_t>(0, cy - size_ / 2), y1 = std::min(h, cy - size_ / 2 + size_);
  const int64_t x0 = std::max<int64_t>(0, cx - size_ / 2), x1 = std::min(w, cx - size_ / 2 + size_);
  for_each_image(example, "cutout", [&](Tensor& f) {
    check_image(f, "cutout");
    Tensor image = f.clone();  // the dataset's own tensor may be shared
    const int64_t channels = image.size(0);
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t y = y0; y < std::min(y1, image.size(1)); ++y)
        for (int64_t x = x0; x < std::min(x1, image.size(2)); ++x) {
          const int64_t i = (c * image.size(1) + y) * image.size(2) + x;
          if (image.dtype() == DType::U8)
            image.data<uint8_t>()[i] = uint8_t(std::clamp(fill_, 0.0, 255.0));
          else
            image.data<float>()[i] = float(fill_);
        }
    f = image;
  });
}

}  // namespace soma::data::transforms
