// Pooling in the layout x comes in: a convolution's or activation's output as it is held (see
// cpu::Held), soma's NCHW tensors as they are; a reorder into a blocked layout for pooling alone
// would cost more than it saves. Channels-last and channel-blocked activations go to soma's own
// loops (see pooled_by_loops), and so do NCHW activations under windows that tile them two columns
// wide (see rows_pooled_by_loops); every other layout goes to oneDNN's pooling primitives.
#include <immintrin.h>
#include <algorithm>
#include <limits>
#include <type_traits>
#include <vector>

#include "soma/backend/cpu/cpu_backend.h"
#include "soma/backend/cpu/dnnl_context.h"
#include "soma/backend/cpu/vectors.h"
#include "soma/core/parallel.h"

namespace soma {
namespace {

using dnnl::memory;

dnnl::algorithm algorithm_of(PoolMode mode) {
  switch (mode) {
    case PoolMode::Max:
      return dnnl::algorithm::pooling_max;
    case PoolMode::Average:
      return dnnl::algorithm::pooling_avg_include_padding;
    case PoolMode::AverageExcludePadding:
      return dnnl::algorithm::pooling_avg_exclude_padding;
  }
  fail("unknown pooling mode");
}

// x's layout is plain NCHW or the one x is held in (`held`), which the key names then.
cpu::Key key_of(const char* kind, const memory::desc& x, bool held, const Shape& x_shape,
                const Shape& y, const Pool2dGeometry& g) {
  cpu::Key key;
  key << kind << x_shape << y << int64_t(g.mode) << g.kernel[0] << g.kernel[1] << g.stride[0]
      << g.stride[1] << g.padding[0] << g.padding[1];
  return held ? key << x : key;
}

// y's layout: plain NCHW for plain x, else the primitive's choice to go with x's, in x's type.
memory::desc y_layout(const memory::desc& x, bool held, const Shape& y) {
  const memory::desc plain = cpu::plain_f32(y);
  return held ? memory::desc(plain.dims(), x.data_type(), memory::format_tag::any) : plain;
}

// The workspace (cpu::workspace_for) records the forward pass's layout of x: the backward pass
// reads the workspace in it, whatever layout dy comes in.

dnnl::pooling_forward::primitive_desc forward_desc(const memory::desc& x, const memory::desc& y,
                                                   const Pool2dGeometry& g, bool training) {
  const memory::dims padding{g.padding[0], g.padding[1]};
  return {dnnl::pooling_forward::desc(
              training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference,
              algorithm_of(g.mode), x, y, {g.stride[0], g.stride[1]}, {g.kernel[0], g.kernel[1]},
              padding, padding),
          cpu::engine()};
}

bool blocked(const memory::desc& x) {
  return x == memory::desc(x.dims(), x.data_type(), memory::format_tag::nChw16c);
}
// x's layout (channels-last or in blocks of 16 channels) for an array of `shape`.
memory::desc laid_like(const memory::desc& x, const Shape& shape) {
  return memory::desc(memory::dims(shape.begin(), shape.end()), x.data_type(),
                      blocked(x) ? memory::format_tag::nChw16c : memory::format_tag::nhwc);
}

// Activations held channels-last or in blocks of 16 channels are pooled by the loops below.
// oneDNN 2.6's jit kernel takes one pixel's channels per vector on channels-last activations, and
// was a large part of LeNet-5's training step and of the CIFAR CNN's on the bf16 activations
// AMX's convolutions write (channels-last, as PyTorch's) and on f32 blocks. Their workspace holds
// each maximum's offset in its window, a byte per output.
bool pooled_by_loops(const memory::desc& x, const Pool2dGeometry& g) {
#if !(defined(__AVX512F__) && defined(__AVX512BW__))
  return false;  // the loops are written for AVX-512
#endif
  const auto type = x.data_type();
  const memory::dims dims = x.dims();
  return (type == memory::data_type::f32 || type == memory::data_type::bf16) && dims.size() == 4 &&
         g.kernel[0] * g.kernel[1] < 255 && x == laid_like(x, Shape(dims.begin(), dims.end()));
}

// One pooling over images (n, c, h, w in, oh, ow out) whose pixels hold their channels in runs of
// 16: channels-last (NHWC), or oneDNN's blocks of 16 channels (nChw16c, `blocked`), whose last
// block is padded with zeros.
struct ChannelsInner {
  int64_t n, c, h, w, oh, ow;
  bool blocked;
  Pool2dGeometry g;

  // Elements per image of height × width, and between neighbouring pixels.
  int64_t image(int64_t height, int64_t width) const {
    return (blocked ? (c + 15) / 16 * 16 : c) * height * width;
  }
  int64_t pixel() const { return blocked ? 16 : c; }
  // Where the run of channels c0 .. c0 + 15 of an image's first pixel starts in the image.
  int64_t run(int64_t c0, int64_t height, int64_t width) const {
    return blocked ? c0 * height * width : c0;
  }

  // Output (i, j)'s window inside the image: rows [top, bottom), columns [left, right), from
  // row `row0` and column `col0` of the padded window.
  struct Window {
    int64_t top, bottom, left, right, row0, col0;
  };
  Window window(int64_t i, int64_t j) const {
    const int64_t row0 = i * g.stride[0] - g.padding[0], col0 = j * g.stride[1] - g.padding[1];
    return {std::max<int64_t>(row0, 0),
            std::min(row0 + g.kernel[0], h),
            std::max<int64_t>(col0, 0),
            std::min(col0 + g.kernel[1], w),
            row0,
            col0};
  }

  // What an average divides by, as the reference backend's pooling.
  float divisor(const Window& v) const {
    if (g.mode == PoolMode::AverageExcludePadding)
      return float((v.bottom - v.top) * (v.right - v.left));
    return float((std::min(v.row0 + g.kernel[0], h + g.padding[0]) - v.row0) *
                 (std::min(v.col0 + g.kernel[1], w + g.padding[1]) - v.col0));
  }
};

#if defined(__AVX512F__) && defined(__AVX512BW__)
// A pixel's channels, 16 at a time, as the lanes of an AVX-512 vector: the maxima, their window
// offsets and the sums are a vector each, and choosing a maximum is a masked move rather than a
// branch on every comparison.
using cpu::lanes_from;
using cpu::load;
using cpu::store;

// The lanes a store writes: in blocks, the padding too (with zeros, as oneDNN keeps it).
__mmask16 written(const ChannelsInner& p, __mmask16 lanes) {
  return p.blocked ? __mmask16(0xffff) : lanes;
}

// Calls fn(c0, i, j) for every run of 16 channels c0 of every output (i, j), in the order the
// outputs lie in memory: pixel by pixel channels-last (faster than run by run there), run by run
// in blocks.
template <class Fn>
void for_each_output(const ChannelsInner& p, Fn&& fn) {
  if (p.blocked) {
    for (int64_t c0 = 0; c0 < p.c; c0 += 16)
      for (int64_t i = 0; i < p.oh; ++i)
        for (int64_t j = 0; j < p.ow; ++j) fn(c0, i, j);
    return;
  }
  for (int64_t i = 0; i < p.oh; ++i)
    for (int64_t j = 0; j < p.ow; ++j)
      for (int64_t c0 = 0; c0 < p.c; c0 += 16) fn(c0, i, j);
}

template <class T>
void pool_forward(const ChannelsInner& p, const T* x, T* y, uint8_t* where) {
  const int64_t pixel = p.pixel(), in_size = p.image(p.h, p.w), out_size = p.image(p.oh, p.ow);
  parallel_for(p.n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n)
      for_each_output(p, [&](int64_t c0, int64_t i, int64_t j) {
        const __mmask16 lanes = lanes_from(c0, p.c), out = written(p, lanes);
        const T* in = x + n * in_size + p.run(c0, p.h, p.w);
        const ChannelsInner::Window v = p.window(i, j);
        __m512 best = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
        __m512 sum = _mm512_setzero_ps();
        // The first position stands when nothing is above -inf, as in the reference backend.
        __m512i best_at =
            _mm512_set1_epi32(int((v.top - v.row0) * p.g.kernel[1] + v.left - v.col0));
        for (int64_t row = v.top; row < v.bottom; ++row)
          for (int64_t col = v.left; col < v.right; ++col) {
            const __m512 value = load(in + (row * p.w + col) * pixel, lanes);
            const __mmask16 above = _mm512_cmp_ps_mask(value, best, _CMP_GT_OQ);
            best = _mm512_mask_mov_ps(best, above, value);
            best_at = _mm512_mask_mov_epi32(
                best_at, above,
                _mm512_set1_epi32(int((row - v.row0) * p.g.kernel[1] + col - v.col0)));
            sum = _mm512_add_ps(sum, value);
          }
        const int64_t o = n * out_size + p.run(c0, p.oh, p.ow) + (i * p.ow + j) * pixel;
        if (p.g.mode == PoolMode::Max) {
          store(y + o, best, out);
          if (where) _mm512_mask_cvtepi32_storeu_epi8(where + o, out, best_at);
        } else {
          store(y + o, _mm512_div_ps(sum, _mm512_set1_ps(p.divisor(v))), out);
        }
      });
  });
}

// dx = the gradient, image by image, summed in f32: in dx itself, or for bf16 in a buffer that is
// rounded once at the end. Windows that tile the image (LeNet-5's 2×2 of stride 2) reach each
// position once, so its gradient is stored as found rather than added to a zeroed dx.
template <class T>
void pool_backward(const ChannelsInner& p, const T* dy, const uint8_t* where, T* dx) {
  constexpr bool in_place = std::is_same_v<T, float>;
  const bool max = p.g.mode == PoolMode::Max;
  const bool tiled = p.g.stride == p.g.kernel && p.g.padding[0] == 0 && p.g.padding[1] == 0 &&
                     p.oh * p.g.kernel[0] == p.h && p.ow * p.g.kernel[1] == p.w;
  const int64_t pixel = p.pixel(), size = p.image(p.h, p.w), out_size = p.image(p.oh, p.ow);
  parallel_for(p.n, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> buffer(in_place ? 0 : static_cast<size_t>(size));
    for (int64_t n = begin; n < end; ++n) {
      float* sums = buffer.data();
      if constexpr (in_place) sums = dx + n * size;
      if (!tiled) std::fill(sums, sums + size, 0.0f);
      for_each_output(p, [&](int64_t c0, int64_t i, int64_t j) {
        const __mmask16 lanes = lanes_from(c0, p.c), out = written(p, lanes);
        float* to_run = sums + p.run(c0, p.h, p.w);
        const ChannelsInner::Window v = p.window(i, j);
        const int64_t o = n * out_size + p.run(c0, p.oh, p.ow) + (i * p.ow + j) * pixel;
        __m512 g = load(dy + o, lanes);
        if (!max) g = _mm512_div_ps(g, _mm512_set1_ps(p.divisor(v)));
        const __m512i at =
            max ? _mm512_maskz_cvtepu8_epi32(lanes, _mm_maskz_loadu_epi8(lanes, where + o))
                : _mm512_setzero_si512();
        for (int64_t row = v.top; row < v.bottom; ++row)
          for (int64_t col = v.left; col < v.right; ++col) {
            float* to = to_run + (row * p.w + col) * pixel;
            const int k = int((row - v.row0) * p.g.kernel[1] + col - v.col0);
            const __mmask16 mine =
                max ? _mm512_mask_cmpeq_epi32_mask(lanes, at, _mm512_set1_epi32(k)) : lanes;
            if (tiled) {
              _mm512_mask_storeu_ps(to, out, _mm512_maskz_mov_ps(mine, g));
              continue;
            }
            const __m512 total = _mm512_maskz_loadu_ps(lanes, to);
            _mm512_mask_storeu_ps(to, lanes, _mm512_mask_add_ps(total, mine, total, g));
          }
      });
      if constexpr (!in_place) {
        // Rounded 16 at a time, as the stores above.
        T* rounded = dx + n * size;
        for (int64_t e = 0; e < size; e += 16) {
          const __mmask16 lanes = lanes_from(e, size);
          store(rounded + e, _mm512_maskz_loadu_ps(lanes, sums + e), lanes);
        }
      }
    }
  });
}
#else
// Unreachable: pooled_by_loops is false without AVX-512, and oneDNN pools every layout.
template <class T>
void pool_forward(const ChannelsInner&, const T*, T*, uint8_t*) {
  fail("pooling: the pooling loops need AVX-512");
}
template <class T>
void pool_backward(const ChannelsInner&, const T*, const uint8_t*, T*) {
  fail("pooling: the pooling loops need AVX-512");
}
#endif

// NCHW activations (LeNet-5's convolutions write them, see few_channel_conv) under windows
// of two columns that tile the image (2×2 of stride 2), pooled 16 outputs of a row to a vector,
// whose columns are the even and odd lanes of two: a tenth of oneDNN 2.6's time in NCHW on
// LeNet-5's first pooling. Their workspace is the same as pooled_by_loops'.
bool rows_pooled_by_loops(const Shape& x, const Shape& y, const Pool2dGeometry& g) {
#if !(defined(__AVX512F__) && defined(__AVX512BW__))
  return false;  // the loops are written for AVX-512
#endif
  return x.size() == 4 && g.kernel[1] == 2 && g.stride == g.kernel && g.padding[0] == 0 &&
         g.padding[1] == 0 && y[2] * g.kernel[0] == x[2] && y[3] * 2 == x[3] &&
         g.kernel[0] * g.kernel[1] < 255;
}

#if defined(__AVX512F__) && defined(__AVX512BW__)
// Lane j of even(v0, v1) is lane 2j of the 32 lanes of v0 then v1, of odd(v0, v1) lane 2j + 1.
__m512 even(__m512 v0, __m512 v1) {
  return _mm512_permutex2var_ps(
      v0, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), v1);
}
__m512 odd(__m512 v0, __m512 v1) {
  return _mm512_permutex2var_ps(
      v0, _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), v1);
}
// The first (half 0) or last 16 of the 32 lanes that interleave e and o: e's lane j, o's lane j,
// e's lane j + 1, ...
__m512 interleaved(__m512 e, __m512 o, int half) {
  const __m512i first = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  return _mm512_permutex2var_ps(e, half ? _mm512_add_epi32(first, _mm512_set1_epi32(8)) : first, o);
}

// The ReLU after max pooling (Pool2dGeometry::relu): maxima not above zero become zeros, and their
// place 255, which no window position matches, so the backward pass sends their gradient nowhere.
void fold_relu(__m512& best, __m512i& best_at) {
  const __mmask16 positive = _mm512_cmp_ps_mask(best, _mm512_setzero_ps(), _CMP_GT_OQ);
  best = _mm512_maskz_mov_ps(positive, best);
  best_at = _mm512_mask_mov_epi32(_mm512_set1_epi32(255), positive, best_at);
}

// Rows of at most 8 outputs (LeNet-5's second pooling: 5) under windows of at most 2 rows go
// 16 / ow rows to a vector: their inputs, at most 64 values, are 4 vectors, from which
// permutations pick each lane's window, and the gradients are spread back over them the same way.
// A row to a vector kept 5 of 16 lanes busy, and LeNet-5's second pooling took longer than its
// first, of 4 times as many values.
struct ShortRows {
  int64_t kh, w, ow, per;  // per: rows to a vector
  __mmask16 lanes;         // of a vector's outputs
  // Forward: where the lanes' window values (2 · r + c) lie among the 64, and which of them lie
  // in the last 32.
  __m512i picks[4];
  __mmask16 high[4];
  // Backward: for each of the 64 values (16 per vector), the lane whose window holds it and its
  // place there (2 · r + c), -1 past the rows.
  __m512i sources[4], places[4];

  ShortRows(int64_t kh, int64_t ow) : kh(kh), w(2 * ow), ow(ow), per(16 / ow) {
    lanes = lanes_from(0, per * ow);
    alignas(64) int32_t at[4][16] = {}, source[4][16] = {}, place[4][16];
    for (int64_t rc = 0; rc < 4; ++rc) {  // past 2 · kh: unused
      high[rc] = 0;
      for (int64_t l = 0; l < per * ow && rc < 2 * kh; ++l) {
        at[rc][l] = int32_t(l / ow * kh * w + 2 * (l % ow) + rc / 2 * w + rc % 2);
        if (at[rc][l] >= 32) high[rc] |= __mmask16(1u << l);
      }
      picks[rc] = _mm512_load_si512(at[rc]);
    }
    for (int64_t p = 0; p < 64; ++p) {
      const int64_t row = p / (kh * w), r = p % (kh * w) / w, column = p % w;
      source[p / 16][p % 16] = int32_t(row * ow + column / 2);
      place[p / 16][p % 16] = row < per ? int32_t(2 * r + column % 2) : -1;
    }
    for (int q = 0; q < 4; ++q) {
      sources[q] = _mm512_load_si512(source[q]);
      places[q] = _mm512_load_si512(place[q]);
    }
  }
  // How many of rows r0 .. r0 + per - 1 are below `rows`.
  int64_t count(int64_t r0, int64_t rows) const { return std::min(per, rows - r0); }
};

// Short rows pool by these when their windows' values fit 4 vectors.
bool short_rows(int64_t kh, int64_t ow) { return ow <= 8 && kh <= 2; }

void pool_short_rows_forward(const float* x, float* y, uint8_t* where, int64_t rows,
                             const ShortRows& s, bool max, bool relu) {
  const __m512 divisor = _mm512_set1_ps(float(2 * s.kh));
  parallel_for((rows + s.per - 1) / s.per, 16, [&](int64_t begin, int64_t end) {
    for (int64_t v = begin; v < end; ++v) {
      const int64_t r0 = v * s.per, n = s.count(r0, rows), values = n * s.kh * s.w;
      const float* in = x + r0 * s.kh * s.w;
      __m512 block[4];
      for (int q = 0; q < 4; ++q)
        block[q] = _mm512_maskz_loadu_ps(lanes_from(16 * q, values), in + 16 * q);
      __m512 best = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
      __m512 sum = _mm512_setzero_ps();
      __m512i best_at = _mm512_setzero_si512();
      for (int64_t rc = 0; rc < 2 * s.kh; ++rc) {
        const __m512 value = _mm512_mask_blend_ps(
            s.high[rc], _mm512_permutex2var_ps(block[0], s.picks[rc], block[1]),
            _mm512_permutex2var_ps(block[2], s.picks[rc], block[3]));
        const __mmask16 above = _mm512_cmp_ps_mask(value, best, _CMP_GT_OQ);
        best = _mm512_mask_mov_ps(best, above, value);
        best_at = _mm512_mask_mov_epi32(best_at, above, _mm512_set1_epi32(int(rc)));
        sum = _mm512_add_ps(sum, value);
      }
      if (relu) fold_relu(best, best_at);
      const __mmask16 lanes = lanes_from(0, n * s.ow);
      _mm512_mask_storeu_ps(y + r0 * s.ow, lanes, max ? best : _mm512_div_ps(sum, divisor));
      if (max && where) _mm512_mask_cvtepi32_storeu_epi8(where + r0 * s.ow, lanes, best_at);
    }
  });
}

void pool_short_rows_backward(const float* dy, const uint8_t* where, float* dx, int64_t rows,
                              const ShortRows& s, bool max, float beta) {
  const __m512 divisor = _mm512_set1_ps(float(2 * s.kh));
  parallel_for((rows + s.per - 1) / s.per, 16, [&](int64_t begin, int64_t end) {
    for (int64_t v = begin; v < end; ++v) {
      const int64_t r0 = v * s.per, n = s.count(r0, rows), values = n * s.kh * s.w;
      const __mmask16 lanes = lanes_from(0, n * s.ow);
      __m512 gradient = _mm512_maskz_loadu_ps(lanes, dy + r0 * s.ow);
      if (!max) gradient = _mm512_div_ps(gradient, divisor);
      const __m512i at =
          max ? _mm512_maskz_cvtepu8_epi32(lanes, _mm_maskz_loadu_epi8(lanes, where + r0 * s.ow))
              : _mm512_setzero_si512();
      float* out = dx + r0 * s.kh * s.w;
      for (int q = 0; q < 4 && 16 * q < values; ++q) {
        // Each value gets its window's gradient where it is the window's maximum (all of them
        // for averages).
        const __mmask16 inside = lanes_from(16 * q, values);
        const __mmask16 taken =
            max ? _mm512_cmpeq_epi32_mask(_mm512_maskz_permutexvar_epi32(0xffff, s.sources[q], at),
                                          s.places[q])
                : inside;
        __m512 value = _mm512_maskz_permutexvar_ps(taken, s.sources[q], gradient);
        if (beta != 0.0f)
          value = _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_maskz_loadu_ps(inside, out + 16 * q),
                                  value);
        _mm512_mask_storeu_ps(out + 16 * q, inside, value);
      }
    }
  });
}

// x [planes × h × w] pooled into y [planes × oh × ow], w = 2 · ow, h = kh · oh; `where` (unless
// null) gets each maximum's offset in its window, as pool_forward's.
void pool_rows_forward(const float* x, float* y, uint8_t* where, int64_t planes, int64_t oh,
                       int64_t ow, const Pool2dGeometry& g) {
  const int64_t kh = g.kernel[0], w = 2 * ow;
  const bool max = g.mode == PoolMode::Max;
  if (short_rows(kh, ow))
    return pool_short_rows_forward(x, y, where, planes * oh, ShortRows(kh, ow), max, g.relu);
  const __m512 divisor = _mm512_set1_ps(float(2 * kh));
  parallel_for(planes * oh, 1, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const float* in = x + row * kh * w;
      for (int64_t j = 0; j < ow; j += 16) {
        const __mmask16 lanes = lanes_from(j, ow);
        __m512 best = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
        __m512 sum = _mm512_setzero_ps();
        __m512i best_at = _mm512_setzero_si512();
        for (int64_t r = 0; r < kh; ++r) {
          const float* from = in + r * w + 2 * j;
          const __m512 v0 = _mm512_maskz_loadu_ps(lanes_from(2 * j, w), from),
                       v1 = _mm512_maskz_loadu_ps(lanes_from(2 * j + 16, w), from + 16);
          const __m512 values[2] = {even(v0, v1), odd(v0, v1)};
          for (int c = 0; c < 2; ++c) {
            const __mmask16 above = _mm512_cmp_ps_mask(values[c], best, _CMP_GT_OQ);
            best = _mm512_mask_mov_ps(best, above, values[c]);
            best_at = _mm512_mask_mov_epi32(best_at, above, _mm512_set1_epi32(int(2 * r + c)));
            sum = _mm512_add_ps(sum, values[c]);
          }
        }
        if (g.relu) fold_relu(best, best_at);
        const int64_t o = row * ow + j;
        _mm512_mask_storeu_ps(y + o, lanes, max ? best : _mm512_div_ps(sum, divisor));
        if (max && where) _mm512_mask_cvtepi32_storeu_epi8(where + o, lanes, best_at);
      }
    }
  });
}

// dx = the gradient + beta · dx; each position of x lies in one window.
void pool_rows_backward(const float* dy, const uint8_t* where, float* dx, int64_t planes,
                        int64_t oh, int64_t ow, const Pool2dGeometry& g, float beta) {
  const int64_t kh = g.kernel[0], w = 2 * ow;
  const bool max = g.mode == PoolMode::Max;
  if (short_rows(kh, ow))
    return pool_short_rows_backward(dy, where, dx, planes * oh, ShortRows(kh, ow), max, beta);
  const __m512 divisor = _mm512_set1_ps(float(2 * kh));
  parallel_for(planes * oh, 1, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row)
      for (int64_t j = 0; j < ow; j += 16) {
        const __mmask16 lanes = lanes_from(j, ow);
        const int64_t o = row * ow + j;
        __m512 gradient = _mm512_maskz_loadu_ps(lanes, dy + o);
        if (!max) gradient = _mm512_div_ps(gradient, divisor);
        const __m512i at =
            max ? _mm512_maskz_cvtepu8_epi32(lanes, _mm_maskz_loadu_epi8(lanes, where + o))
                : _mm512_setzero_si512();
        for (int64_t r = 0; r < kh; ++r) {
          __m512 parts[2];
          for (int c = 0; c < 2; ++c)
            parts[c] =
                max ? _mm512_maskz_mov_ps(
                          _mm512_cmpeq_epi32_mask(at, _mm512_set1_epi32(int(2 * r + c))), gradient)
                    : gradient;
          float* to = dx + (row * kh + r) * w + 2 * j;
          for (int half = 0; half < 2; ++half) {
            const __mmask16 inside = lanes_from(2 * j + 16 * half, w);
            __m512 value = interleaved(parts[0], parts[1], half);
            if (beta != 0.0f)
              value = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(inside, to + 16 * half),
                                      _mm512_set1_ps(beta), value);
            _mm512_mask_storeu_ps(to + 16 * half, inside, value);
          }
        }
      }
  });
}
#else
// Unreachable: rows_pooled_by_loops is false without AVX-512.
void pool_rows_forward(const float*, float*, uint8_t*, int64_t, int64_t, int64_t,
                       const Pool2dGeometry&) {
  fail("pooling: the pooling loops need AVX-512");
}
void pool_rows_backward(const float*, const uint8_t*, float*, int64_t, int64_t, int64_t,
                        const Pool2dGeometry&, float) {
  fail("pooling: the pooling loops need AVX-512");
}
#endif

// Runs fn with a null pointer of the element type `md` holds (float or bfloat16).
template <class Fn>
void with_type(const memory::desc& md, Fn&& fn) {
  if (md.data_type() == memory::data_type::bf16) return fn(static_cast<bfloat16*>(nullptr));
  fn(static_cast<float*>(nullptr));
}

ChannelsInner channels_inner(const memory::desc& x_md, const Shape& x, const Shape& y,
                             const Pool2dGeometry& g) {
  return {x[0], x[1], x[2], x[3], y[2], y[3], blocked(x_md), g};
}

// pool2d_forward for x held in `x_md` where pooled_by_loops: y is held as x, the workspace is a
// byte per output and the record of x_md.
Tensor pool_by_loops(const Tensor& y, const Tensor& x, const memory::desc& x_md,
                     const Pool2dGeometry& g, bool training) {
  const ChannelsInner p = channels_inner(x_md, x.shape(), y.shape(), g);
  Tensor workspace;
  uint8_t* where = nullptr;
  if (training) {
    const int64_t offsets = g.mode == PoolMode::Max ? p.n * p.image(p.oh, p.ow) : 0;
    workspace = cpu::workspace_for(offsets, x_md);
    if (offsets) where = workspace.data<uint8_t>();
  }
  cpu::Key key;
  key << "pool_loops_y" << y.shape() << x_md;
  cpu::LaidOutOutput out(laid_like(x_md, y.shape()), cpu::plain_f32(y.shape()), y, 0.0f, key,
                         /*hold=*/true);
  const void* in = cpu::held(x)->memory().get_data_handle();
  with_type(x_md, [&](auto* type) {
    using T = std::remove_pointer_t<decltype(type)>;
    pool_forward(p, static_cast<const T*>(in), static_cast<T*>(out.memory().get_data_handle()),
                 where);
  });
  out.finish();
  cpu::stream().wait();
  return workspace;
}

void unpool_by_loops(const Tensor& dx, const Tensor& dy, const Tensor& workspace,
                     const memory::desc& x_md, const Pool2dGeometry& g, float beta) {
  const ChannelsInner p = channels_inner(x_md, dx.shape(), dy.shape(), g);
  cpu::Key key;
  key << "unpool_loops" << dy.shape() << x_md;
  const memory dy_md = cpu::laid_out(laid_like(x_md, dy.shape()), cpu::plain_f32(dy.shape()), dy,
                                     cpu::Key(key) << "dy");
  cpu::LaidOutOutput out(x_md, cpu::plain_f32(dx.shape()), dx, beta, cpu::Key(key) << "dx",
                         /*hold=*/true);
  cpu::stream().wait();  // for dy's reorder
  with_type(x_md, [&](auto* type) {
    using T = std::remove_pointer_t<decltype(type)>;
    pool_backward(p, static_cast<const T*>(dy_md.get_data_handle()), workspace.data<uint8_t>(),
                  static_cast<T*>(out.memory().get_data_handle()));
  });
  out.finish();
  cpu::stream().wait();
}

}  // namespace

// The workspace (bytes in a u8 tensor) is oneDNN's own, for max pooling, followed by the layout x
// was read in; it is made when the backward pass will be wanted.
Tensor CpuBackend::pool2d_forward(const Tensor& y, const Tensor& x, const Pool2dGeometry& g,
                                  bool training) {
  SOMA_CHECK(!g.relu || pool2d_fuses_relu(x, y.shape(), g),
             "pool2d: the ReLU folds into NCHW row loops only");
  if (x.dtype() != DType::F32 || y.numel() == 0)
    return ReferenceBackend::pool2d_forward(y, x, g, training);
  const cpu::SerialWhenSmall serial(x.numel(), cpu::kSmallElements);
  const memory::desc plain_x = cpu::plain_f32(x.shape()), plain_y = cpu::plain_f32(y.shape());
  const auto kept = cpu::held(x);
  const bool held = kept && kept->memory().get_desc().dims() == plain_x.dims();
  const memory::desc x_md = held ? kept->memory().get_desc() : plain_x;
  const bool max_training = training && g.mode == PoolMode::Max;
  if (held && pooled_by_loops(x_md, g)) return pool_by_loops(y, x, x_md, g, training);
  if (!held && rows_pooled_by_loops(x.shape(), y.shape(), g)) {
    const int64_t offsets = max_training ? y.numel() : 0;
    const Tensor workspace = training ? cpu::workspace_for(offsets, x_md) : Tensor();
    pool_rows_forward(x.data<float>(), y.data<float>(),
                      offsets ? workspace.data<uint8_t>() : nullptr, x.size(0) * x.size(1),
                      y.size(2), y.size(3), g);
    return workspace;
  }
  const cpu::Key key =
      key_of(max_training ? "pool_fwd_training" : "pool_fwd", x_md, held, x.shape(), y.shape(), g);
  dnnl::primitive& primitive = cpu::cached(key, [&] {
    return dnnl::pooling_forward(
        forward_desc(x_md, y_layout(x_md, held, y.shape()), g, max_training));
  });
  cpu::LaidOutOutput out(held ? cpu::queried(primitive, dnnl::query::dst_md) : plain_y, plain_y, y,
                         0.0f, cpu::Key(key) << "y", /*hold=*/true);
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, cpu::laid_out(x_md, plain_x, x, cpu::Key(key) << "x")},
      {DNNL_ARG_DST, out.memory()}};
  Tensor workspace;
  if (training) {
    const memory::desc ws_md = cpu::queried(primitive, dnnl::query::workspace_md);
    workspace = cpu::workspace_for(int64_t(ws_md.get_size()), x_md);
    if (max_training)
      args.emplace(DNNL_ARG_WORKSPACE, memory(ws_md, cpu::engine(), workspace.data<uint8_t>()));
  }
  primitive.execute(cpu::stream(), args);
  out.finish();
  cpu::stream().wait();
  return workspace;
}

// The NCHW row loops apply the ReLU as they pool (LeNet-5's two poolings): run after the pooling,
// it would read and write the pooled values again, and read them and their gradients backward.
bool CpuBackend::pool2d_fuses_relu(const Tensor& x, const Shape& y, const Pool2dGeometry& g) const {
  return x.dtype() == DType::F32 && x.dim() == 4 && x.numel() > 0 && g.mode == PoolMode::Max &&
         !cpu::held(x) && rows_pooled_by_loops(x.shape(), y, g);
}

void CpuBackend::pool2d_backward(const Tensor& dx, const Tensor& dy, const Tensor& workspace,
                                 const Pool2dGeometry& g, float beta) {
  if (dx.dtype() != DType::F32 || dy.numel() == 0)
    return ReferenceBackend::pool2d_backward(dx, dy, workspace, g, beta);
  const memory::desc x_md = cpu::recorded_layout(workspace, "pool2d_backward");
  const cpu::SerialWhenSmall serial(dx.numel(), cpu::kSmallElements);
  const memory::desc plain_x = cpu::plain_f32(dx.shape()), plain_y = cpu::plain_f32(dy.shape());
  uint8_t* bytes = workspace.data<uint8_t>();
  const bool max = g.mode == PoolMode::Max, held = x_md != plain_x;
  if (held && pooled_by_loops(x_md, g)) return unpool_by_loops(dx, dy, workspace, x_md, g, beta);
  if (!held && rows_pooled_by_loops(dx.shape(), dy.shape(), g))
    return pool_rows_backward(dy.data<float>(), bytes, dx.data<float>(), dx.size(0) * dx.size(1),
                              dy.size(2), dy.size(3), g, beta);
  const cpu::Key key = key_of("pool_bwd", x_md, held, dx.shape(), dy.shape(), g);
  dnnl::primitive& primitive = cpu::cached(key, [&] {
    const auto hint = forward_desc(x_md, y_layout(x_md, held, dy.shape()), g, max);
    const memory::dims padding{g.padding[0], g.padding[1]};
    return dnnl::pooling_backward(dnnl::pooling_backward::primitive_desc(
        dnnl::pooling_backward::desc(algorithm_of(g.mode), x_md, hint.dst_desc(),
                                     {g.stride[0], g.stride[1]}, {g.kernel[0], g.kernel[1]},
                                     padding, padding),
        cpu::engine(), hint));
  });
  cpu::LaidOutOutput out(x_md, plain_x, dx, beta, cpu::Key(key) << "dx", /*hold=*/true);
  std::unordered_map<int, memory> args{
      {DNNL_ARG_DIFF_DST, cpu::laid_out(cpu::queried(primitive, dnnl::query::diff_dst_md), plain_y,
                                        dy, cpu::Key(key) << "dy")},
      {DNNL_ARG_DIFF_SRC, out.memory()}};
  if (max)
    args.emplace(DNNL_ARG_WORKSPACE,
                 memory(cpu::queried(primitive, dnnl::query::workspace_md), cpu::engine(), bytes));
  primitive.execute(cpu::stream(), args);
  out.finish();
  cpu::stream().wait();
}

}  // namespace soma
