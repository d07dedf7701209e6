// The loops read and write 16 channels of a pixel as one vector. A training forward pass reads x
// twice (the statistics, then the normalisation) and writes y once, a backward pass reads x and dy
// twice and writes dx once; each pass runs in parallel over pixels, the statistics as sums over
// fixed chunks of pixels, in f32 within a chunk and in double across chunks.
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

void batch_norm_loops_forward(const memory::desc& md, const bfloat16* x, bfloat16* y, float* mean,
                              float* var, const float* gamma, const float* beta, double eps,
                              bool training, uint16_t* relu_mask) {
  const Pixels g = pixels_of(md);
  if (training) {
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
  std::vector<float> scale(size_t(g.channels())), shift(scale.size());
  for (int64_t c = 0; c < g.channels(); ++c) {
    const double inv_std = 1 / std::sqrt(double(var[c]) + eps);
    const double gc = gamma ? gamma[c] : 1.0, bc = beta ? beta[c] : 0.0;
    scale[size_t(c)] = float(gc * inv_std), shift[size_t(c)] = float(bc - mean[c] * gc * inv_std);
  }
  for_each_vector(g, [in = x, out = y, positives = relu_mask, scales = scale.data(),
                      shifts = shift.data()](int64_t at, int64_t v) {
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

// dx = k·dy - k·(dβ/M) - k·inv_std·(dγ/M)·(x - mean), k = γ·inv_std, in training (the
// statistics depend on x); k·dy otherwise. dβ = Σ dy, dγ = Σ dy·(x - mean)·inv_std.
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
  const double count = double(g.pixels);
  std::vector<float> k(size_t(g.channels())), offset(k.size()), slope(k.size());
  for (int64_t c = 0; c < g.channels(); ++c) {
    const int64_t at = c / 16 * 32 + c % 16;
    const double sum_dy = totals[size_t(at)], sum_centred = totals[size_t(at + 16)];
    const double inv_std = 1 / std::sqrt(double(var[c]) + eps);
    if (dbeta) dbeta[c] += float(sum_dy);
    if (dgamma) dgamma[c] += float(sum_centred * inv_std);
    const double kc = (gamma ? gamma[c] : 1.0) * inv_std;
    const double bias = training ? kc * sum_dy / count : 0.0;
    const double sc = training ? kc * inv_std * inv_std * sum_centred / count : 0.0;
    // dx = k·dy + (slope·mean - bias) - slope·x
    k[size_t(c)] = float(kc), slope[size_t(c)] = float(sc);
    offset[size_t(c)] = float(sc * mean[c] - bias);
  }
  if (!dx) return;
  for_each_vector(g, [masked, in = x, up = dy, out = dx, positives = relu_mask, ks = k.data(),
                      slopes = slope.data(), offsets = offset.data()](int64_t at, int64_t v) {
    const __m512 rest = _mm512_fnmadd_ps(_mm512_loadu_ps(slopes + v * 16), load(in + at * 16, kAll),
                                         _mm512_loadu_ps(offsets + v * 16));
    store(out + at * 16,
          _mm512_fmadd_ps(_mm512_loadu_ps(ks + v * 16), masked(up, positives, at), rest), kAll);
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
#endif

}  // namespace soma::cpu
