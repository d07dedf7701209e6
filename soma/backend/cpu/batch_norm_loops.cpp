// The loops read and write 16 channels of a pixel as one vector. A training forward pass reads x
// twice (the statistics, then the normalisation) and writes y once, a backward pass reads x and dy
// twice and writes dx once; each pass runs in parallel over pixels, the statistics as sums over
// fixed chunks of pixels, in f32 within a chunk and in double across chunks. With 2 × 2 max
// pooling after them, the forward pass writes the pooled values (and the workspace) in place of y,
// and the backward pass reads the pooled gradient (and the workspace) in place of dy, whose sums
// then take only the pixels the gradient reaches, a quarter of them at most.
#include "soma/backend/cpu/batch_norm_loops.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "soma/backend/cpu/vectors.h"
#include "soma/core/error.h"
#include "soma/core/parallel.h"

namespace soma::cpu {

using dnnl::memory;

#if defined(__AVX512F__) && defined(__AVX512BW__)
namespace {

// Channels-last activations as `pixels` rows of `vectors` vectors of 16 channels: vector v of
// pixel p starts at element (p · vectors + v) · 16.
struct Pixels {
  int64_t pixels, vectors;
  int64_t channels() const { return vectors * 16; }
};

Pixels pixels_of(const memory::desc& md) {
  const memory::dims d = md.dims();
  return {d[0] * d[2] * d[3], d[1] / 16};
}

// Sums over fixed chunks of pixels: the same chunks, so the same sums, for every thread count.
constexpr int64_t kChunks = 64;

// Calls add(at, v, a, b) for every vector, chunk by chunk in parallel, to add to two f32 sums
// per channel (zero at each chunk's start), then adds the chunks' sums up in double in chunk
// order: the a of channel c at [c / 16 · 32 + c % 16], its b 16 further on.
template <class Add>
std::vector<double> sums_over_pixels(const Pixels& g, Add&& add) {
  const int64_t chunks = std::min(kChunks, g.pixels), size = g.vectors * 32;
  std::vector<double> partial(size_t(chunks * size));
  parallel_for(chunks, 1, [&](int64_t first, int64_t last) {
    Add local = add;  // see for_each_vector
    std::vector<float> sums(static_cast<size_t>(size));
    for (int64_t k = first; k < last; ++k) {
      std::fill(sums.begin(), sums.end(), 0.0f);
      for (int64_t p = g.pixels * k / chunks; p < g.pixels * (k + 1) / chunks; ++p)
        for (int64_t v = 0; v < g.vectors; ++v) {
          float* const to = sums.data() + v * 32;
          __m512 a = _mm512_loadu_ps(to), b = _mm512_loadu_ps(to + 16);
          local(p * g.vectors + v, v, a, b);
          _mm512_storeu_ps(to, a), _mm512_storeu_ps(to + 16, b);
        }
      std::copy(sums.begin(), sums.end(), partial.begin() + k * size);
    }
  });
  std::vector<double> totals(static_cast<size_t>(size));
  for (int64_t k = 0; k < chunks; ++k)
    for (int64_t j = 0; j < size; ++j) totals[size_t(j)] += partial[size_t(k * size + j)];
  return totals;
}

// Calls body(at, v) for every vector, in parallel over pixels. The bodies capture their pointers
// by value and run as a local copy: through references GCC reloaded every pointer after each
// store.
template <class Body>
void for_each_vector(const Pixels& g, const Body& body) {
  parallel_for(g.pixels, std::max<int64_t>(1, 1024 / g.vectors), [&](int64_t begin, int64_t end) {
    Body local = body;
    const int64_t vectors = g.vectors;
    for (int64_t p = begin; p < end; ++p)
      for (int64_t v = 0; v < vectors; ++v) local(p * vectors + v, v);
  });
}

const __mmask16 kAll = 0xffff;

// Calls body(out, in, v) for every vector v of every output of 2 × 2 pooling of stride 2 over
// channels-last images `width` pixels wide: out counts the output's vectors as Pixels does, in
// is the vector of the window's first pixel, in parallel over outputs.
template <class Body>
void for_each_window(const Pixels& g, int64_t width, const Body& body) {
  const int64_t half = width / 2;
  parallel_for(g.pixels / 4, std::max<int64_t>(1, 256 / g.vectors),
               [&](int64_t begin, int64_t end) {
                 Body local = body;  // see for_each_vector
                 const int64_t vectors = g.vectors;
                 for (int64_t q = begin; q < end; ++q) {
                   // Output row q / half (image n, row i) reads input rows 2 · (q / half) = n · H +
                   // 2i and on.
                   const int64_t first = (q / half * 2 * width + q % half * 2) * vectors;
                   for (int64_t v = 0; v < vectors; ++v) local(q * vectors + v, first + v, v);
                 }
               });
}

}  // namespace

bool normalised_by_loops(const memory::desc& md) {
  const memory::dims d = md.dims();
  return d.size() == 4 && d[1] % 16 == 0 && md.data_type() == memory::data_type::bf16 &&
         md == memory::desc(d, memory::data_type::bf16, memory::format_tag::nhwc) &&
         md != memory::desc(d, memory::data_type::bf16, memory::format_tag::nchw);
}

int64_t relu_mask_bytes(const memory::desc& md) {
  const Pixels g = pixels_of(md);
  return g.pixels * g.vectors * int64_t(sizeof(uint16_t));
}

namespace {

// mean and var (biased) of the batch, per channel.
void batch_statistics(const Pixels& g, const bfloat16* x, float* mean, float* var) {
  // Sums of x - x₀ (x₀ the first pixel's value), whose squares lose nothing to a large mean.
  std::vector<float> first(size_t(g.channels()));
  for (int64_t v = 0; v < g.vectors; ++v)
    _mm512_storeu_ps(first.data() + v * 16, load(x + v * 16, kAll));
  const auto totals = sums_over_pixels(
      g, [in = x, x0 = first.data()](int64_t at, int64_t v, __m512& sum, __m512& squares) {
        const __m512 d = _mm512_sub_ps(load(in + at * 16, kAll), _mm512_loadu_ps(x0 + v * 16));
        sum = _mm512_add_ps(sum, d);
        squares = _mm512_fmadd_ps(d, d, squares);
      });
  const double count = double(g.pixels);
  for (int64_t c = 0; c < g.channels(); ++c) {
    const int64_t at = c / 16 * 32 + c % 16;
    const double shifted = totals[size_t(at)] / count;
    mean[c] = float(first[size_t(c)] + shifted);
    var[c] = float(std::max(0.0, totals[size_t(at + 16)] / count - shifted * shifted));
  }
}

// y = x · scale + shift, the normalisation and the affine map folded together.
struct Folded {
  std::vector<float> scale, shift;
};

Folded folded(const Pixels& g, const float* mean, const float* var, const float* gamma,
              const float* beta, double eps) {
  Folded f{std::vector<float>(size_t(g.channels())), std::vector<float>(size_t(g.channels()))};
  for (int64_t c = 0; c < g.channels(); ++c) {
    const double inv_std = 1 / std::sqrt(double(var[c]) + eps);
    const double gc = gamma ? gamma[c] : 1.0, bc = beta ? beta[c] : 0.0;
    f.scale[size_t(c)] = float(gc * inv_std);
    f.shift[size_t(c)] = float(bc - mean[c] * gc * inv_std);
  }
  return f;
}

}  // namespace

void batch_norm_loops_forward(const memory::desc& md, const bfloat16* x, bfloat16* y, float* mean,
                              float* var, const float* gamma, const float* beta, double eps,
                              bool training, uint16_t* relu_mask) {
  const Pixels g = pixels_of(md);
  if (training) batch_statistics(g, x, mean, var);
  const Folded f = folded(g, mean, var, gamma, beta, eps);
  for_each_vector(g, [in = x, out = y, positives = relu_mask, scales = f.scale.data(),
                      shifts = f.shift.data()](int64_t at, int64_t v) {
    __m512 value = _mm512_fmadd_ps(load(in + at * 16, kAll), _mm512_loadu_ps(scales + v * 16),
                                   _mm512_loadu_ps(shifts + v * 16));
    if (positives) {
      const __mmask16 positive = _mm512_cmp_ps_mask(value, _mm512_setzero_ps(), _CMP_GT_OQ);
      value = _mm512_maskz_mov_ps(positive, value);
      positives[at] = positive;
    }
    store(out + at * 16, value, kAll);
  });
}

namespace {

// dx = k·dy - k·(dβ/M) - k·inv_std·(dγ/M)·(x - mean), k = γ·inv_std, in training (the
// statistics depend on x); k·dy otherwise. dβ = Σ dy, dγ = Σ dy·(x - mean)·inv_std, from the
// sums (as sums_over_pixels adds them) of dy and dy·(x - mean) over a channel's M = g.pixels
// values; dgamma and dbeta (unless null) get them added. As dx = k·dy + offset - slope·x.
struct Coefficients {
  std::vector<float> k, offset, slope;
};

Coefficients coefficients(const std::vector<double>& totals, const Pixels& g, float* dgamma,
                          float* dbeta, const float* mean, const float* var, const float* gamma,
                          double eps, bool training) {
  const size_t channels = size_t(g.channels());
  const double count = double(g.pixels);
  Coefficients f{std::vector<float>(channels), std::vector<float>(channels),
                 std::vector<float>(channels)};
  for (int64_t c = 0; c < g.channels(); ++c) {
    const int64_t at = c / 16 * 32 + c % 16;
    const double sum_dy = totals[size_t(at)], sum_centred = totals[size_t(at + 16)];
    const double inv_std = 1 / std::sqrt(double(var[c]) + eps);
    if (dbeta) dbeta[c] += float(sum_dy);
    if (dgamma) dgamma[c] += float(sum_centred * inv_std);
    const double kc = (gamma ? gamma[c] : 1.0) * inv_std;
    const double bias = training ? kc * sum_dy / count : 0.0;
    const double sc = training ? kc * inv_std * inv_std * sum_centred / count : 0.0;
    f.k[size_t(c)] = float(kc), f.slope[size_t(c)] = float(sc);
    f.offset[size_t(c)] = float(sc * mean[c] - bias);
  }
  return f;
}

// dx = k·dy + offset - slope·x for a vector v of 16 channels, from pointers into Coefficients,
// for the loops' bodies to capture by value (see for_each_vector).
struct InputGradient {
  const float *k, *offset, *slope;
  explicit InputGradient(const Coefficients& f)
      : k(f.k.data()), offset(f.offset.data()), slope(f.slope.data()) {}
  __m512 operator()(int64_t v, __m512 dy, __m512 x) const {
    const __m512 rest =
        _mm512_fnmadd_ps(_mm512_loadu_ps(slope + v * 16), x, _mm512_loadu_ps(offset + v * 16));
    return _mm512_fmadd_ps(_mm512_loadu_ps(k + v * 16), dy, rest);
  }
};

}  // namespace

void batch_norm_loops_backward(const memory::desc& md, const bfloat16* x, const bfloat16* dy,
                               const uint16_t* relu_mask, bfloat16* dx, float* dgamma, float* dbeta,
                               const float* mean, const float* var, const float* gamma, double eps,
                               bool training) {
  const Pixels g = pixels_of(md);
  // dy where the ReLU passed it.
  const auto masked = [](const bfloat16* up, const uint16_t* positives, int64_t at) {
    return positives ? _mm512_maskz_mov_ps(positives[at], load(up + at * 16, kAll))
                     : load(up + at * 16, kAll);
  };
  const auto totals = sums_over_pixels(g, [masked, in = x, up = dy, positives = relu_mask, mean](
                                              int64_t at, int64_t v, __m512& sum, __m512& centred) {
    const __m512 grad = masked(up, positives, at);
    sum = _mm512_add_ps(sum, grad);
    centred = _mm512_fmadd_ps(
        grad, _mm512_sub_ps(load(in + at * 16, kAll), _mm512_loadu_ps(mean + v * 16)), centred);
  });
  const Coefficients f = coefficients(totals, g, dgamma, dbeta, mean, var, gamma, eps, training);
  if (!dx) return;
  for_each_vector(g, [masked, in = x, up = dy, out = dx, positives = relu_mask,
                      gradient = InputGradient(f)](int64_t at, int64_t v) {
    store(out + at * 16, gradient(v, masked(up, positives, at), load(in + at * 16, kAll)), kAll);
  });
}

int64_t pool_workspace_bytes(const memory::desc& md) {
  const Pixels g = pixels_of(md);
  return g.pixels / 4 * g.vectors * int64_t(4 * sizeof(uint16_t) + 16 * sizeof(bfloat16));
}

namespace {

// The workspace of an output vector at: a mask of 16 channels per window pixel, where the
// gradient goes, at `masks` + 4 · at; x at the maximum at `x_max` + 16 · at.
struct PoolRecord {
  uint16_t* masks;
  bfloat16* x_max;
};

PoolRecord pool_record(const memory::desc& md, const uint8_t* workspace) {
  const Pixels g = pixels_of(md);
  uint8_t* bytes = const_cast<uint8_t*>(workspace);
  return {reinterpret_cast<uint16_t*>(bytes),
          reinterpret_cast<bfloat16*>(bytes + g.pixels / 4 * g.vectors * 4 * sizeof(uint16_t))};
}

// A window's pixels' vectors relative to its first: the next column, the next row.
struct WindowSteps {
  int64_t column, row;
  int64_t operator[](int k) const { return (k & 1) * column + (k >> 1) * row; }
};

}  // namespace

void batch_norm_pool_loops_forward(const memory::desc& md, const bfloat16* x, bfloat16* y,
                                   float* mean, float* var, const float* gamma, const float* beta,
                                   double eps, bool training, uint8_t* workspace) {
  const Pixels g = pixels_of(md);
  if (training) batch_statistics(g, x, mean, var);
  const Folded f = folded(g, mean, var, gamma, beta, eps);
  const int64_t width = md.dims()[3];
  for_each_window(
      g, width,
      [in = x, out = y, record = pool_record(md, workspace),
       step = WindowSteps{g.vectors, width * g.vectors}, scales = f.scale.data(),
       shifts = f.shift.data()](int64_t at, int64_t first, int64_t v) {
        const __m512 scale = _mm512_loadu_ps(scales + v * 16),
                     shift = _mm512_loadu_ps(shifts + v * 16);
        // Each value rounded to bf16 before the comparisons, as the normalisation's output would be
        // before a pooling of its own: the same maximum, the first of equals in the window.
        __m512 best = _mm512_setzero_ps();
        __m256i best_x = _mm256_setzero_si256();
        __mmask16 mine[4] = {0, 0, 0, 0};
        for (int k = 0; k < 4; ++k) {
          const bfloat16* from = in + (first + step[k]) * 16;
          const __m512 value = rounded_to_bf16(_mm512_fmadd_ps(load(from, kAll), scale, shift));
          const __mmask16 above = k == 0 ? kAll : _mm512_cmp_ps_mask(value, best, _CMP_GT_OQ);
          best = _mm512_mask_mov_ps(best, above, value);
          best_x = _mm256_mask_mov_epi16(
              best_x, above, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(from)));
          for (int j = 0; j < k; ++j) mine[j] &= __mmask16(~above);
          mine[k] = above;
        }
        const __mmask16 positive = _mm512_cmp_ps_mask(best, _mm512_setzero_ps(), _CMP_GT_OQ);
        store(out + at * 16, _mm512_maskz_mov_ps(positive, best), kAll);
        for (int k = 0; k < 4; ++k) record.masks[at * 4 + k] = mine[k] & positive;
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(record.x_max + at * 16), best_x);
      });
}

void batch_norm_pool_loops_backward(const memory::desc& md, const bfloat16* x, const bfloat16* dy,
                                    const uint8_t* workspace, bfloat16* dx, float* dgamma,
                                    float* dbeta, const float* mean, const float* var,
                                    const float* gamma, double eps, bool training) {
  const Pixels g = pixels_of(md), pooled{g.pixels / 4, g.vectors};
  // Each output's gradient reaches one pixel of its window, or none: the sums over the outputs.
  const auto totals =
      sums_over_pixels(pooled, [up = dy, record = pool_record(md, workspace), mean](
                                   int64_t at, int64_t v, __m512& sum, __m512& centred) {
        const uint16_t* masks = record.masks + at * 4;
        const __m512 grad = _mm512_maskz_mov_ps(masks[0] | masks[1] | masks[2] | masks[3],
                                                load(up + at * 16, kAll));
        sum = _mm512_add_ps(sum, grad);
        const __m512 centre = _mm512_loadu_ps(mean + v * 16);
        centred = _mm512_fmadd_ps(grad, _mm512_sub_ps(load(record.x_max + at * 16, kAll), centre),
                                  centred);
      });
  const Coefficients f = coefficients(totals, g, dgamma, dbeta, mean, var, gamma, eps, training);
  if (!dx) return;
  const int64_t width = md.dims()[3];
  for_each_window(g, width,
                  [in = x, up = dy, out = dx, record = pool_record(md, workspace),
                   step = WindowSteps{g.vectors, width * g.vectors},
                   gradient = InputGradient(f)](int64_t at, int64_t first, int64_t v) {
                    const __m512 grad = load(up + at * 16, kAll);
                    for (int k = 0; k < 4; ++k) {
                      const int64_t to = (first + step[k]) * 16;
                      store(out + to,
                            gradient(v, _mm512_maskz_mov_ps(record.masks[at * 4 + k], grad),
                                     load(in + to, kAll)),
                            kAll);
                    }
                  });
}

#else
bool normalised_by_loops(const memory::desc&) {
  return false;  // the loops are written for AVX-512
}
int64_t relu_mask_bytes(const memory::desc&) { fail("batch norm: the loops need AVX-512"); }
void batch_norm_loops_forward(const memory::desc&, const bfloat16*, bfloat16*, float*, float*,
                              const float*, const float*, double, bool, uint16_t*) {
  fail("batch norm: the loops need AVX-512");
}
void batch_norm_loops_backward(const memory::desc&, const bfloat16*, const bfloat16*,
                               const uint16_t*, bfloat16*, float*, float*, const float*,
                               const float*, const float*, double, bool) {
  fail("batch norm: the loops need AVX-512");
}
int64_t pool_workspace_bytes(const memory::desc&) { fail("batch norm: the loops need AVX-512"); }
void batch_norm_pool_loops_forward(const memory::desc&, const bfloat16*, bfloat16*, float*, float*,
                                   const float*, const float*, double, bool, uint8_t*) {
  fail("batch norm: the loops need AVX-512");
}
void batch_norm_pool_loops_backward(const memory::desc&, const bfloat16*, const bfloat16*,
                                    const uint8_t*, bfloat16*, float*, float*, const float*,
                                    const float*, const float*, double, bool) {
  fail("batch norm: the loops need AVX-512");
}
#endif

}  // namespace soma::cpu
