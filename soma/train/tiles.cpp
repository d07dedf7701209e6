#include "soma/train/tiles.h"

#include <algorithm>
#include <cmath>

#include "soma/autograd/node.h"

namespace soma::train {
namespace {

// Index i of a line of n values mirrored across its ends as often as needed (… 2 1 | 0 1 2 … n-1 |
// n-2 …), so a tile may reach any distance past a small image.
int64_t mirrored(int64_t i, int64_t n) {
  if (n == 1) return 0;
  const int64_t period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

// Where the tiles start along a side of n: every `stride`, the last flush with the end.
std::vector<int64_t> starts(int64_t n, int64_t tile, int64_t stride) {
  if (n <= tile) return {0};
  std::vector<int64_t> at;
  for (int64_t s = 0; s + tile < n; s += stride) at.push_back(s);
  at.push_back(n - tile);
  return at;
}

// A tile's weight at position i of its side: rising over `ramp` from its edges, 1 inside.
float ramp_weight(int64_t i, int64_t tile, int64_t ramp) {
  const int64_t from_edge = std::min(i, tile - 1 - i) + 1;
  return float(std::min<int64_t>(from_edge, ramp)) / float(ramp);
}

}  // namespace

Tensor predict_in_tiles(nn::Module& model, const Tensor& image, const TileOptions& options) {
  const int64_t t = options.tile;
  SOMA_CHECK(t > 0 && options.overlap >= 0 && options.overlap < t,
             "tiles: expected a positive tile and an overlap below it, found tile ", t,
             " and overlap ", options.overlap);
  SOMA_CHECK(image.dim() == 3 && image.dtype() == DType::F32,
             "tiles: expected an f32 image [C, H, W], found ", name_of(image.dtype()), " ",
             to_string(image.shape()));
  const int64_t channels = image.size(0), height = image.size(1), width = image.size(2);
  const int64_t stride = t - options.overlap, ramp = std::max<int64_t>(options.overlap / 2, 1);
  const bool was_training = model.is_training();
  model.eval();
  autograd::NoGradGuard no_grad;
  Tensor sum, weights = Tensor::zeros({height, width});
  int64_t classes = 0;
  Tensor tile = Tensor::empty({1, channels, t, t});
  for (const int64_t top : starts(height, t, stride))
    for (const int64_t left : starts(width, t, stride)) {
      const float* in = image.data<float>();
      float* out = tile.data<float>();
      for (int64_t c = 0; c < channels; ++c)
        for (int64_t y = 0; y < t; ++y) {
          const int64_t row = mirrored(top + y, height);
          for (int64_t x = 0; x < t; ++x)
            out[(c * t + y) * t + x] = in[(c * height + row) * width + mirrored(left + x, width)];
        }
      const Tensor scores = model(tile).to(DType::F32);
      SOMA_CHECK(scores.dim() == 4 && scores.size(2) == t && scores.size(3) == t,
                 "tiles: the model gives ", to_string(scores.shape()), " for a tile ",
                 to_string(tile.shape()), ": it must give scores per pixel of the tile");
      if (!sum.defined()) {
        classes = std::max<int64_t>(scores.size(1), 2);
        sum = Tensor::zeros({classes, height, width});
      }
      const int64_t k = scores.size(1);
      const float* s = scores.data<float>();
      float* acc = sum.data<float>();
      float* w = weights.data<float>();
      for (int64_t y = 0; y < t && top + y < height; ++y)
        for (int64_t x = 0; x < t && left + x < width; ++x) {
          const float weight = ramp_weight(y, t, ramp) * ramp_weight(x, t, ramp);
          const int64_t at = (top + y) * width + left + x, pixel = y * t + x;
          w[at] += weight;
          if (k == 1) {  // the probability of class 1
            const float p = 1.0f / (1.0f + std::exp(-s[pixel]));
            acc[at] += weight * (1 - p);
            acc[height * width + at] += weight * p;
            continue;
          }
          float top_score = s[pixel], total = 0;
          for (int64_t c = 1; c < k; ++c) top_score = std::max(top_score, s[c * t * t + pixel]);
          for (int64_t c = 0; c < k; ++c) total += std::exp(s[c * t * t + pixel] - top_score);
          for (int64_t c = 0; c < k; ++c)
            acc[c * height * width + at] +=
                weight * std::exp(s[c * t * t + pixel] - top_score) / total;
        }
    }
  if (was_training) model.train();
  float* acc = sum.data<float>();
  const float* w = weights.data<float>();
  for (int64_t c = 0; c < classes; ++c)
    for (int64_t i = 0; i < height * width; ++i) acc[c * height * width + i] /= w[i];
  return sum;
}

}  // namespace soma::train
