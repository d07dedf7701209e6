#include "soma/data/transforms/image_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace soma::data {
namespace {

template <typename T>
T saturate(float v) {
  if constexpr (std::is_same_v<T, uint8_t>)
    return uint8_t(std::clamp(std::nearbyint(v), 0.0f, 255.0f));
  else
    return v;
}

template <typename Fn>
auto by_dtype(const Tensor& image, Fn&& fn) {
  if (image.dtype() == DType::U8) return fn(uint8_t{});
  return fn(float{});
}

// The source coordinate of output index i when n_in pixels are stretched over n_out.
float source_coordinate(int64_t i, int64_t n_in, int64_t n_out) {
  return std::max(0.0f, (float(i) + 0.5f) * float(n_in) / float(n_out) - 0.5f);
}

}  // namespace

void check_image(const Tensor& image, const char* what) {
  SOMA_CHECK(image.dim() == 3 && (image.dtype() == DType::U8 || image.dtype() == DType::F32), what,
             ": expected a u8 or f32 image [C, H, W], found ", name_of(image.dtype()), " ",
             to_string(image.shape()));
}

Tensor to_bytes(const Tensor& image) {
  if (image.dtype() == DType::U8) return image;
  const Tensor values = image.to(DType::F32);
  Tensor bytes = Tensor::empty(image.shape(), DType::U8);
  const float* in = values.data<float>();
  uint8_t* out = bytes.data<uint8_t>();
  const int64_t n = values.numel();
  for (int64_t i = 0; i < n; ++i)
    out[i] = uint8_t(std::nearbyint(std::clamp(in[i], 0.0f, 1.0f) * 255.0f));
  return bytes;
}

Tensor crop(const Tensor& image, int64_t top, int64_t left, int64_t height, int64_t width,
            double fill) {
  check_image(image, "crop");
  SOMA_CHECK(height > 0 && width > 0, "crop: size ", height, "×", width, " must be positive");
  const int64_t channels = image.size(0), h = image.size(1), w = image.size(2);
  Tensor out = Tensor::empty({channels, height, width}, image.dtype());
  by_dtype(image, [&](auto zero) {
    using T = decltype(zero);
    const T* in = image.data<T>();
    T* o = out.data<T>();
    const T value = saturate<T>(float(fill));
    // The columns of the window that lie inside the image.
    const int64_t x0 = std::clamp<int64_t>(-left, 0, width),
                  x1 = std::clamp<int64_t>(w - left, 0, width);
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t y = 0; y < height; ++y) {
        T* row = o + (c * height + y) * width;
        const int64_t sy = top + y;
        if (sy < 0 || sy >= h || x0 >= x1) {
          std::fill(row, row + width, value);
          continue;
        }
        std::fill(row, row + x0, value);
        std::memcpy(row + x0, in + (c * h + sy) * w + left + x0, size_t(x1 - x0) * sizeof(T));
        std::fill(row + x1, row + width, value);
      }
    return 0;
  });
  return out;
}

Tensor crop_reflect(const Tensor& image, int64_t top, int64_t left, int64_t height, int64_t width) {
  check_image(image, "crop_reflect");
  SOMA_CHECK(height > 0 && width > 0, "crop_reflect: size ", height, "×", width,
             " must be positive");
  const int64_t channels = image.size(0), h = image.size(1), w = image.size(2);
  // The source of each window row (column): i mirrored into [0, n).
  auto sources = [](int64_t start, int64_t count, int64_t n, const char* axis) {
    SOMA_CHECK(start >= -(n - 1) && start + count - 1 <= 2 * (n - 1), "crop_reflect: ", axis, " ",
               start, "..", start + count - 1, " reach past one reflection of an image ", n,
               " long");
    std::vector<int64_t> out(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
      const int64_t s = start + i;
      out[size_t(i)] = s < 0 ? -s : s >= n ? 2 * (n - 1) - s : s;
    }
    return out;
  };
  const std::vector<int64_t> rows = sources(top, height, h, "rows"),
                             cols = sources(left, width, w, "columns");
  Tensor out = Tensor::empty({channels, height, width}, image.dtype());
  by_dtype(image, [&](auto zero) {
    using T = decltype(zero);
    const T* in = image.data<T>();
    T* o = out.data<T>();
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t y = 0; y < height; ++y) {
        const T* row = in + (c * h + rows[size_t(y)]) * w;
        for (int64_t x = 0; x < width; ++x) *o++ = row[cols[size_t(x)]];
      }
    return 0;
  });
  return out;
}

Tensor flip_horizontal(const Tensor& image) {
  check_image(image, "flip_horizontal");
  Tensor out = Tensor::empty_like(image);
  const int64_t rows = image.size(0) * image.size(1), w = image.size(2);
  by_dtype(image, [&](auto zero) {
    using T = decltype(zero);
    const T* in = image.data<T>();
    T* o = out.data<T>();
    for (int64_t r = 0; r < rows; ++r) std::reverse_copy(in + r * w, in + (r + 1) * w, o + r * w);
    return 0;
  });
  return out;
}

Tensor flip_vertical(const Tensor& image) {
  check_image(image, "flip_vertical");
  Tensor out = Tensor::empty_like(image);
  const int64_t channels = image.size(0), h = image.size(1);
  const size_t row = size_t(image.size(2)) * size_of(image.dtype());
  const char* in = static_cast<const char*>(image.raw_data());
  char* o = static_cast<char*>(out.raw_data());
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t y = 0; y < h; ++y)
      std::memcpy(o + size_t(c * h + y) * row, in + size_t(c * h + h - 1 - y) * row, row);
  return out;
}

Tensor resize(const Tensor& image, int64_t height, int64_t width, Interpolation interpolation) {
  check_image(image, "resize");
  SOMA_CHECK(height > 0 && width > 0, "resize: size ", height, "×", width, " must be positive");
  const int64_t h = image.size(1), w = image.size(2);
  Tensor source_y = Tensor::empty({height, width}), source_x = Tensor::empty({height, width});
  for (int64_t y = 0; y < height; ++y)
    for (int64_t x = 0; x < width; ++x) {
      if (interpolation == Interpolation::Nearest) {
        // PyTorch's "nearest": floor(i · in / out).
        source_y.data<float>()[y * width + x] = float(std::min(h - 1, y * h / height));
        source_x.data<float>()[y * width + x] = float(std::min(w - 1, x * w / width));
      } else {
        source_y.data<float>()[y * width + x] =
            std::min(float(h - 1), source_coordinate(y, h, height));
        source_x.data<float>()[y * width + x] =
            std::min(float(w - 1), source_coordinate(x, w, width));
      }
    }
  return remap(image, source_y, source_x, interpolation);
}

Tensor remap(const Tensor& image, const Tensor& source_y, const Tensor& source_x,
             Interpolation interpolation, double fill) {
  check_image(image, "remap");
  SOMA_CHECK(source_y.dim() == 2 && source_y.shape() == source_x.shape(),
             "remap: expected source maps [H, W] of one shape, found ", to_string(source_y.shape()),
             " and ", to_string(source_x.shape()));
  const int64_t channels = image.size(0), h = image.size(1), w = image.size(2);
  const int64_t height = source_y.size(0), width = source_y.size(1), plane = height * width;
  Tensor out = Tensor::empty({channels, height, width}, image.dtype());
  const float* sy = source_y.data<float>();
  const float* sx = source_x.data<float>();
  by_dtype(image, [&](auto zero) {
    using T = decltype(zero);
    const T* in = image.data<T>();
    T* o = out.data<T>();
    const float f = float(fill);
    auto at = [&](int64_t c, int64_t y, int64_t x) {
      return y < 0 || y >= h || x < 0 || x >= w ? f : float(in[(c * h + y) * w + x]);
    };
    for (int64_t i = 0; i < plane; ++i) {
      const float y = sy[i], x = sx[i];
      if (interpolation == Interpolation::Nearest) {
        const auto yi = int64_t(std::floor(y + 0.5f)), xi = int64_t(std::floor(x + 0.5f));
        for (int64_t c = 0; c < channels; ++c) o[c * plane + i] = saturate<T>(at(c, yi, xi));
        continue;
      }
      const float fy = std::floor(y), fx = std::floor(x);
      const auto y0 = int64_t(fy), x0 = int64_t(fx);
      const float dy = y - fy, dx = x - fx;
      for (int64_t c = 0; c < channels; ++c) {
        const float top = at(c, y0, x0) * (1 - dx) + at(c, y0, x0 + 1) * dx;
        const float bottom = at(c, y0 + 1, x0) * (1 - dx) + at(c, y0 + 1, x0 + 1) * dx;
        o[c * plane + i] = saturate<T>(top * (1 - dy) + bottom * dy);
      }
    }
    return 0;
  });
  return out;
}

void gaussian_blur(Tensor& plane, double sigma) {
  SOMA_CHECK(plane.dim() == 2 && plane.dtype() == DType::F32 && sigma > 0,
             "gaussian_blur: expected f32 [H, W] and sigma > 0");
  const int64_t h = plane.size(0), w = plane.size(1);
  const auto radius = int64_t(std::ceil(3 * sigma));
  std::vector<float> kernel(static_cast<size_t>(2 * radius + 1));
  float total = 0;
  for (int64_t k = -radius; k <= radius; ++k)
    total += kernel[size_t(k + radius)] = float(std::exp(-double(k * k) / (2 * sigma * sigma)));
  for (float& k : kernel) k /= total;
  std::vector<float> line(static_cast<size_t>(std::max(h, w)));
  float* p = plane.data<float>();
  for (int64_t y = 0; y < h; ++y) {  // rows
    for (int64_t x = 0; x < w; ++x) {
      float s = 0;
      for (int64_t k = -radius; k <= radius; ++k)
        s += kernel[size_t(k + radius)] * p[y * w + std::clamp<int64_t>(x + k, 0, w - 1)];
      line[size_t(x)] = s;
    }
    std::copy(line.begin(), line.begin() + w, p + y * w);
  }
  for (int64_t x = 0; x < w; ++x) {  // columns
    for (int64_t y = 0; y < h; ++y) {
      float s = 0;
      for (int64_t k = -radius; k <= radius; ++k)
        s += kernel[size_t(k + radius)] * p[std::clamp<int64_t>(y + k, 0, h - 1) * w + x];
      line[size_t(y)] = s;
    }
    for (int64_t y = 0; y < h; ++y) p[y * w + x] = line[size_t(y)];
  }
}

}  // namespace soma::data
