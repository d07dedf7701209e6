// The loops read and write 16 channels of a pixel as one vector. A training forward pass reads x
// twice (the statistics, then the normalisation) and writes y once, a backward pass reads x and dy
// twice and writes dx once; each pass runs in parallel over pixels (or images), the statistics as
// sums over fixed chunks, in f32 within a chunk and in double across chunks.
#include "soma/backend/cpu/batch_norm_loops.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "soma/backend/cpu/vectors.h"
#include "soma/core/error.h"
#include "soma/core/parallel.h"

namespace soma::cpu {

using dnnl::memory;

#if defined(__AVX512F__) && defined(__AVX512BW__)
namespace {

// The held elements as vectors of 16 channels: vector v of `inner` runs, in `outer` blocks,
// starting at element ((o · vectors + v) · inner + i) · 16. Channels-last: a run is a pixel
// (inner 1, outer N·H·W); in blocks: an image's pixels (inner H·W, outer N).
struct Groups {
  int64_t outer, vectors, inner, channels;
  int64_t count() const { return outer * inner; }  // values per channel
  int64_t at(int64_t o, int64_t v, int64_t i = 0) const { return (o * vectors + v) * inner + i; }
};

bool blocked(const memory::desc& md) {
  return md == memory::desc(md.dims(), md.data_type(), memory::format_tag::nChw16c);
}

Groups groups_of(const memory::desc& md) {
  const memory::dims d = md.dims();
  if (blocked(md)) return {d[0], (d[1] + 15) / 16, d[2] * d[3], d[1]};
  return {d[0] * d[2] * d[3], d[1] / 16, 1, d[1]};
}

// Sums over fixed chunks of the outer blocks: the same chunks, so the same sums, for every
// thread count.
constexpr int64_t kChunks = 64;

// Calls chunk(begin, end, sums) for chunks of outer blocks, in parallel, each adding `per` f32
// sums per channel into `sums` (zeroed, vector v's k-th sum at (v · per + k) · 16), then adds
// them up in double in chunk order.
template <class Chunk>
std::vector<double> chunked_sums(const Groups& g, int64_t per, Chunk&& chunk) {
  const int64_t chunks = std::min(kChunks, g.outer), size = per * g.vectors * 16;
  std::vector<double> partial(size_t(chunks * size));
  parallel_for(chunks, 1, [&](int64_t first, int64_t last) {
    std::vector<float> sums(static_cast<size_t>(size));
    for (int64_t k = first; k < last; ++k) {
      std::fill(sums.begin(), sums.end(), 0.0f);
      chunk(g.outer * k / chunks, g.outer * (k + 1) / chunks, sums.data());
      std::copy(sums.begin(), sums.end(), partial.begin() + k * size);
    }
  });
  std::vector<double> totals(static_cast<size_t>(size));
  for (int64_t k = 0; k < chunks; ++k)
    for (int64_t j = 0; j < size; ++j) totals[size_t(j)] += partial[size_t(k * size + j)];
  return totals;
}

// Per-channel constants, padded with zeros to whole vectors.
std::vector<float> padded(const Groups& g, const float* values) {
  std::vector<float> out(size_t(g.vectors * 16));
  std::copy(values, values + g.channels, out.begin());
  return out;
}

// Calls body(at, v) for every vector (at its element at · 16) of the outer blocks [begin, end),
// v its run of channels. The loops' bodies copy what they read into locals first: through the
// captured references GCC reloaded every pointer after each store.
template <class Body>
void for_vectors(const Groups g, int64_t begin, int64_t end, Body&& body) {
  for (int64_t o = begin; o < end; ++o)
    for (int64_t v = 0; v < g.vectors; ++v) {
      const int64_t at = g.at(o, v);
      for (int64_t i = 0; i < g.inner; ++i) body(at + i, v);
    }
}

// Calls add(at, v, a, b) for every vector of the outer blocks [begin, end) to add to two sums,
// sums[v · 32] and sums[v · 32 + 16], kept in registers along a run (an image's pixels in blocks).
template <class Add>
void sum_vectors(const Groups g, int64_t begin, int64_t end, float* sums, Add&& add) {
  for (int64_t o = begin; o < end; ++o)
    for (int64_t v = 0; v < g.vectors; ++v) {
      const int64_t at = g.at(o, v);
      __m512 a = _mm512_loadu_ps(sums + v * 32), b = _mm512_loadu_ps(sums + v * 32 + 16);
      for (int64_t i = 0; i < g.inner; ++i) add(at + i, v, a, b);
      _mm512_storeu_ps(sums + v * 32, a), _mm512_storeu_ps(sums + v * 32 + 16, b);
    }
}

int64_t grain(const Groups& g) { return std::max<int64_t>(1, 16384 / (g.vectors * g.inner * 16)); }

template <class T>
void forward(const Groups& g, const T* x, T* y, float* mean, float* var, const float* gamma,
             const float* beta, double eps, bool training, uint16_t* mask) {
  if (training) {
    // Sums of x - x₀ (x₀ the first pixel's value), whose squares lose nothing to a large mean.
    std::vector<float> first(size_t(g.vectors * 16));
    for (int64_t v = 0; v < g.vectors; ++v)
      _mm512_storeu_ps(first.data() + v * 16, load(x + g.at(0, v) * 16, 0xffff));
    const auto totals = chunked_sums(g, 2, [&](int64_t begin, int64_t end, float* sums) {
      const T* const in = x;
      const float* const x0 = first.data();
      sum_vectors(g, begin, end, sums, [&](int64_t at, int64_t v, __m512& sum, __m512& squares) {
        const __m512 d = _mm512_sub_ps(load(in + at * 16, 0xffff), _mm512_loadu_ps(x0 + v * 16));
        sum = _mm512_add_ps(sum, d);
        squares = _mm512_fmadd_ps(d, d, squares);
      });
    });
    const double count = double(g.count());
    for (int64_t c = 0; c < g.channels; ++c) {
      const int64_t v = c / 16, l = c % 16;
      const double shifted = totals[size_t(v * 32 + l)] / count;
      mean[c] = float(first[size_t(c)] + shifted);
      var[c] = float(std::max(0.0, totals[size_t(v * 32 + 16 + l)] / count - shifted * shifted));
    }
  }
  // y = x · scale + shift, the normalisation and the affine map folded together.
  std::vector<float> scale = padded(g, mean), shift = scale;
  for (int64_t c = 0; c < g.channels; ++c) {
    const double inv_std = 1 / std::sqrt(double(var[c]) + eps);
    const double gc = gamma ? gamma[c] : 1.0, bc = beta ? beta[c] : 0.0;
    scale[size_t(c)] = float(gc * inv_std), shift[size_t(c)] = float(bc - mean[c] * gc * inv_std);
  }
  parallel_for(g.outer, grain(g), [&](int64_t begin, int64_t end) {
    const T* const in = x;
    T* const out = y;
    uint16_t* const positives = mask;
    const float *const scales = scale.data(), *const shifts = shift.data();
    for_vectors(g, begin, end, [&](int64_t at, int64_t v) {
      __m512 value = _mm512_fmadd_ps(load(in + at * 16, 0xffff), _mm512_loadu_ps(scales + v * 16),
                                     _mm512_loadu_ps(shifts + v * 16));
      if (positives) {
        const __mmask16 positive = _mm512_cmp_ps_mask(value, _mm512_setzero_ps(), _CMP_GT_OQ);
        value = _mm512_maskz_mov_ps(positive, value);
        positives[at] = positive;
      }
      store(out + at * 16, value, 0xffff);
    });
  });
}

// dx = k·dy - k·(dβ/M) - k·inv_std·(dγ/M)·(x - mean), k = γ·inv_std, in training (the
// statistics depend on x); k·dy otherwise. dβ = Σ dy, dγ = Σ dy·(x - mean)·inv_std.
template <class T>
void backward(const Groups& g, const T* x, const T* dy, const uint16_t* mask, T* dx, float* dgamma,
              float* dbeta, const float* mean, const float* var, const float* gamma, double eps,
              bool training) {
  const std::vector<float> means = padded(g, mean);
  // dy where the ReLU passed it.
  const auto masked = [](const T* up, const uint16_t* positives, int64_t at) {
    return positives ? _mm512_maskz_mov_ps(positives[at], load(up + at * 16, 0xffff))
                     : load(up + at * 16, 0xffff);
  };
  const auto totals = chunked_sums(g, 2, [&](int64_t begin, int64_t end, float* sums) {
    const T *const in = x, *const up = dy;
    const uint16_t* const positives = mask;
    const float* const m = means.data();
    sum_vectors(g, begin, end, sums, [&](int64_t at, int64_t v, __m512& sum, __m512& centred) {
      const __m512 grad = masked(up, positives, at);
      sum = _mm512_add_ps(sum, grad);
      centred = _mm512_fmadd_ps(
          grad, _mm512_sub_ps(load(in + at * 16, 0xffff), _mm512_loadu_ps(m + v * 16)), centred);
    });
  });
  const double count = double(g.count());
  std::vector<float> k(means.size()), offset(k.size()), slope(k.size());
  for (int64_t c = 0; c < g.channels; ++c) {
    const int64_t v = c / 16, l = c % 16;
    const double sum_dy = totals[size_t(v * 32 + l)], sum_centred = totals[size_t(v * 32 + 16 + l)];
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
  parallel_for(g.outer, grain(g), [&](int64_t begin, int64_t end) {
    const T *const in = x, *const up = dy;
    T* const out = dx;
    const uint16_t* const positives = mask;
    const float *const ks = k.data(), *const slopes = slope.data(), *const offsets = offset.data();
    for_vectors(g, begin, end, [&](int64_t at, int64_t v) {
      const __m512 rest =
          _mm512_fnmadd_ps(_mm512_loadu_ps(slopes + v * 16), load(in + at * 16, 0xffff),
                           _mm512_loadu_ps(offsets + v * 16));
      store(out + at * 16,
            _mm512_fmadd_ps(_mm512_loadu_ps(ks + v * 16), masked(up, positives, at), rest), 0xffff);
    });
  });
}

// Runs fn with a null pointer of the element type `md` holds (float or bfloat16).
template <class Fn>
void with_type(const memory::desc& md, Fn&& fn) {
  if (md.data_type() == memory::data_type::bf16) return fn(static_cast<bfloat16*>(nullptr));
  fn(static_cast<float*>(nullptr));
}

}  // namespace

bool normalised_by_loops(const memory::desc& md) {
  const memory::dims d = md.dims();
  const auto type = md.data_type();
  if (d.size() != 4 || (type != memory::data_type::f32 && type != memory::data_type::bf16))
    return false;
  return blocked(md) || (d[1] % 16 == 0 && md == memory::desc(d, type, memory::format_tag::nhwc) &&
                         md != memory::desc(d, type, memory::format_tag::nchw));
}

int64_t relu_mask_bytes(const memory::desc& md) {
  const Groups g = groups_of(md);
  return g.outer * g.vectors * g.inner * int64_t(sizeof(uint16_t));
}

void batch_norm_loops_forward(const memory::desc& md, const void* x, void* y, float* mean,
                              float* var, const float* gamma, const float* beta, double eps,
                              bool training, uint16_t* relu_mask) {
  with_type(md, [&](auto* type) {
    using T = std::remove_pointer_t<decltype(type)>;
    forward(groups_of(md), static_cast<const T*>(x), static_cast<T*>(y), mean, var, gamma, beta,
            eps, training, relu_mask);
  });
}

void batch_norm_loops_backward(const memory::desc& md, const void* x, const void* dy,
                               const uint16_t* relu_mask, void* dx, float* dgamma, float* dbeta,
                               const float* mean, const float* var, const float* gamma, double eps,
                               bool training) {
  with_type(md, [&](auto* type) {
    using T = std::remove_pointer_t<decltype(type)>;
    backward(groups_of(md), static_cast<const T*>(x), static_cast<const T*>(dy), relu_mask,
             static_cast<T*>(dx), dgamma, dbeta, mean, var, gamma, eps, training);
  });
}

#else
bool normalised_by_loops(const memory::desc&) {
  return false;  // the loops are written for AVX-512
}
int64_t relu_mask_bytes(const memory::desc&) { fail("batch norm: the loops need AVX-512"); }
void batch_norm_loops_forward(const memory::desc&, const void*, void*, float*, float*, const float*,
                              const float*, double, bool, uint16_t*) {
  fail("batch norm: the loops need AVX-512");
}
void batch_norm_loops_backward(const memory::desc&, const void*, const void*, const uint16_t*,
                               void*, float*, float*, const float*, const float*, const float*,
                               double, bool) {
  fail("batch norm: the loops need AVX-512");
}
#endif

}  // namespace soma::cpu
