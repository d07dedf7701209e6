// A convolution of stride 1 is a sum over taps (input channel, kernel row, kernel column) of the
// input shifted by the tap times the tap's weight. The loops hold 16 output pixels of a channel
// in a vector, in a wide order: the input's planes are padded with zeros and laid out with a row
// stride S = W + PW, and output pixel (i, j) sits at i · S + j, so a tap is one load at a fixed
// offset for every vector. Lanes j ≥ OW read the right border, which is the next row's left one,
// zeros, and are dropped when the vector is stored, compressed into NCHW's row order. A block of
// 4 vectors × 6 output channels keeps 24 sums in registers, loading 10 vectors for every 24
// multiply-adds. The weight gradient sums, over the vectors of all images, dy's vectors
// (expanded into the wide order, zeros in the dropped lanes) times the input's taps. The data
// gradient is the same sum as the forward pass over dy padded by K - 1 - P, with the weights
// flipped and their two channel axes swapped, taken kernel row by kernel row.
//
// Where the output channels are 16 (LeNet-5's second layer, 6 → 16 channels, 14×14 → 10×10, whose
// vectors in the wide order hold 100 outputs in 144 lanes), a vector holds an output pixel's 16
// channels instead (see lanes_pay). oneDNN's NHWC kernels fill 6 lanes of 16 with its input's
// channels, and LeNet-5's training step spent a third of its time in that layer's passes and the
// reorders around them.
//
// Outputs are written, and gradients read, in soma's own NCHW, where the pooling that follows
// runs on rows too (see rows_pooled_by_loops): interleaving the channels (channels-last, as
// oneDNN's NHWC) took as long as the products.
#include "soma/backend/cpu/few_channel_conv.h"

#include <immintrin.h>
#include <algorithm>
#include <vector>

#include "soma/backend/cpu/vectors.h"
#include "soma/core/parallel.h"

namespace soma::cpu {

#if defined(__AVX512F__) && defined(__AVX512BW__)
namespace {

constexpr int64_t kLanes = 16;
// A block of sums: kChannels output channels × kVectors vectors of pixels (or taps), or where
// the output channels come in eights (LeNet-5's second layer) kWideChannels × kWideVectors: 24
// sums in registers either way.
constexpr int64_t kChannels = 6, kVectors = 4, kWideChannels = 8, kWideVectors = 3;

// n rounded up to whole vectors.
int64_t rounded(int64_t n) { return (n + kLanes - 1) / kLanes * kLanes; }

// A zero-filled buffer of n floats for the loops' planes: a tensor's, which starts a cache line,
// so that a plane's vectors load whole lines (std::vector's 16-byte aligned planes would split
// every load of the weight gradient).
Tensor zeros(int64_t n) { return Tensor::zeros({n}); }

// One stride-1 correlation of images [n, c, h, w] padded by (ph, pw) on both sides with a kernel
// [oc, c, kh, kw], in the wide order.
struct Plan {
  int64_t n, c, h, w, oc, kh, kw, ph, pw, oh, ow;
  int64_t stride;   // S: of the padded planes' rows and of the output positions
  int64_t vectors;  // of an output plane
  // Floats of a padded plane: every tap of every vector inside, and of the vectors of whole
  // output rows the data gradient takes row by row, whose last vector reaches up to 15 lanes
  // past the last row.
  int64_t plane;
  int64_t channel_block;      // kChannels or kWideChannels
  int64_t channels;           // oc rounded up to whole blocks
  std::vector<int64_t> taps;  // where tap (channel, row, column) reads, from vector 0's start
  // Of vector e: how many output pixels precede it, and which of its lanes are outputs.
  std::vector<int64_t> offsets;
  std::vector<__mmask16> insides;
  bool prefixes = true;  // whether every vector's outputs are its first lanes (ow = S)

  Plan(int64_t n, int64_t c, int64_t h, int64_t w, int64_t oc, int64_t kh, int64_t kw, int64_t ph,
       int64_t pw)
      : n(n),
        c(c),
        h(h),
        w(w),
        oc(oc),
        kh(kh),
        kw(kw),
        ph(ph),
        pw(pw),
        oh(h + 2 * ph - kh + 1),
        ow(w + 2 * pw - kw + 1),
        stride(w + pw),
        vectors(((oh - 1) * stride + ow + kLanes - 1) / kLanes),
        plane(
            rounded(std::max(vectors * kLanes, oh * stride + kLanes) + (kh - 1) * stride + kw - 1)),
        channel_block(oc % kWideChannels == 0 ? kWideChannels : kChannels),
        channels((oc + channel_block - 1) / channel_block * channel_block) {
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t r = 0; r < kh; ++r)
        for (int64_t col = 0; col < kw; ++col) taps.push_back(ch * plane + r * stride + col);
    for (int64_t e = 0, row = 0, column = 0; e < vectors; ++e) {  // of the vector's first lane
      offsets.push_back(row * ow + std::min(column, ow));
      __mmask16 inside = 0;
      for (int64_t l = 0; l < kLanes; ++l) {
        if (row < oh && column < ow) inside |= __mmask16(1u << l);
        if (++column == stride) column = 0, ++row;
      }
      insides.push_back(inside);
      prefixes = prefixes && (inside & (inside + 1)) == 0;
    }
  }

  // Vector e's outputs from v into `to` (where its first output goes), one after another.
  void store(float* to, int64_t e, __m512 v) const {
    if (prefixes) return _mm512_mask_storeu_ps(to, insides[e], v);
    _mm512_mask_compressstoreu_ps(to, insides[e], v);
  }
  // Vector e's outputs from `from` into their lanes, zeros in the others.
  __m512 load(const float* from, int64_t e) const {
    return prefixes ? _mm512_maskz_loadu_ps(insides[e], from)
                    : _mm512_maskz_expandloadu_ps(insides[e], from);
  }

  // An image's planes (c × h × w) into the padded planes, whose borders stay zero. By masked
  // vectors: a call of memmove per row of LeNet-5's 14 pixels took a fifth of the products' time.
  void pad(const float* x, float* padded) const {
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < h; ++i) {
        const float* from = x + (ch * h + i) * w;
        float* to = padded + ch * plane + (i + ph) * stride + pw;
        for (int64_t j = 0; j < w; j += kLanes) {
          const __mmask16 inside = lanes_from(0, w - j);
          _mm512_mask_storeu_ps(to + j, inside, _mm512_maskz_loadu_ps(inside, from + j));
        }
      }
  }
};

// Adds to sum the products of Pixels vectors of padded planes from `in`, at each of the taps,
// and the taps' weights of Channels output channels (`channels` apart, from `tap_weights`).
template <int64_t Channels, int64_t Pixels>
[[gnu::always_inline]] inline void add_products(__m512 (&sum)[Channels][Pixels], const float* in,
                                                const std::vector<int64_t>& taps,
                                                const float* tap_weights, int64_t channels) {
  for (const int64_t tap : taps) {
    __m512 x[Pixels];
    for (int64_t k = 0; k < Pixels; ++k) x[k] = _mm512_loadu_ps(in + tap + k * kLanes);
    for (int64_t g = 0; g < Channels; ++g) {
      const __m512 weight = _mm512_set1_ps(tap_weights[g]);
      for (int64_t k = 0; k < Pixels; ++k) sum[g][k] = _mm512_fmadd_ps(x[k], weight, sum[g][k]);
    }
    tap_weights += channels;
  }
}

// Outputs of Channels channels from c0 (those below oc) for the vectors e0 .. e0 + Pixels - 1
// into an image's planes `y`, from the padded planes and the weights laid out tap by tap
// (`table`, `channels` to a tap) with biases first.
template <int64_t Channels, int64_t Pixels>
void correlate_block(const Plan& p, const float* padded, const float* table, int64_t c0, int64_t e0,
                     float* y) {
  __m512 sum[Channels][Pixels];
  for (int64_t g = 0; g < Channels; ++g)
    for (int64_t k = 0; k < Pixels; ++k) sum[g][k] = _mm512_set1_ps(table[c0 + g]);
  add_products(sum, padded + e0 * kLanes, p.taps, table + p.channels + c0, p.channels);
  for (int64_t g = 0; g < Channels && c0 + g < p.oc; ++g)
    for (int64_t k = 0; k < Pixels; ++k)
      p.store(y + (c0 + g) * p.oh * p.ow + p.offsets[e0 + k], e0 + k, sum[g][k]);
}

// An image's outputs of Channels channels from c0: whole blocks of Pixels vectors (at most 4),
// then the rest by two and one.
template <int64_t Channels, int64_t Pixels>
void correlate_channels(const Plan& p, const float* padded, const float* table, int64_t c0,
                        float* y) {
  int64_t e0 = 0;
  for (; e0 + Pixels <= p.vectors; e0 += Pixels)
    correlate_block<Channels, Pixels>(p, padded, table, c0, e0, y);
  if (p.vectors - e0 >= 2) correlate_block<Channels, 2>(p, padded, table, c0, e0, y), e0 += 2;
  if (p.vectors - e0 == 1) correlate_block<Channels, 1>(p, padded, table, c0, e0, y);
}

// All outputs y [n, oc, oh, ow] of the plan's correlation of images x [n, c, h, w] with the
// weights table.
void correlate(const Plan& p, const float* x, const std::vector<float>& table, float* y) {
  parallel_for(p.n, 1, [&](int64_t begin, int64_t end) {
    const Tensor padded_planes = zeros(p.c * p.plane);
    float* padded = padded_planes.data<float>();
    for (int64_t n = begin; n < end; ++n) {
      p.pad(x + n * p.c * p.h * p.w, padded);
      float* out = y + n * p.oc * p.oh * p.ow;
      for (int64_t c0 = 0; c0 < p.oc; c0 += p.channel_block)
        if (p.channel_block == kWideChannels)
          correlate_channels<kWideChannels, kWideVectors>(p, padded, table.data(), c0, out);
        else
          correlate_channels<kChannels, kVectors>(p, padded, table.data(), c0, out);
    }
  });
}

// The weights table of a plan: biases (zeros where null), then for each tap its weights of the
// output channels, `channels` apart, zeros past oc, as weight(output channel, tap) gives them.
template <class Weight>
std::vector<float> table_of(const Plan& p, const float* bias, Weight&& weight) {
  const int64_t taps = int64_t(p.taps.size());
  std::vector<float> table((taps + 1) * p.channels, 0.0f);
  for (int64_t o = 0; o < p.oc; ++o) {
    table[o] = bias ? bias[o] : 0.0f;
    for (int64_t t = 0; t < taps; ++t) table[(t + 1) * p.channels + o] = weight(o, t);
  }
  return table;
}

// Images' planes for the weight gradient, a group at a time: the input's, padded, and the output
// gradient's, expanded into the wide order (zeros in the dropped lanes and in channels past oc).
struct GradientGroup {
  // Images enough that a block's sums are loaded and stored seldom, few enough that their planes
  // stay in the core's 48 KiB first-level cache (four of LeNet-5's second layer's images).
  static constexpr int64_t kGroupBytes = 64 << 10;
  int64_t padded_size, planes_size;
  int64_t capacity;  // images
  int64_t images = 0;
  Tensor padded, planes;

  explicit GradientGroup(const Plan& p)
      : padded_size(p.c * p.plane),
        planes_size(p.channels * p.vectors * kLanes),
        capacity(std::clamp<int64_t>(
            kGroupBytes / int64_t((padded_size + planes_size) * sizeof(float)), 1, 16)),
        padded(zeros(capacity * padded_size)),
        planes(zeros(capacity * planes_size)) {}

  // Image n of x and dy in as the group's next; its gradient's sums per channel, lane by lane,
  // are added to bias_sums.
  void add(const Plan& p, const float* x, const float* dy, int64_t n, float* bias_sums) {
    p.pad(x + n * p.c * p.h * p.w, padded.data<float>() + images * padded_size);
    float* image_planes = planes.data<float>() + images * planes_size;
    for (int64_t c = 0; c < p.oc; ++c) {
      const float* gradient = dy + (n * p.oc + c) * p.oh * p.ow;
      __m512 sum = _mm512_loadu_ps(bias_sums + c * kLanes);
      for (int64_t e = 0; e < p.vectors; ++e) {
        const __m512 v = p.load(gradient + p.offsets[e], e);
        _mm512_storeu_ps(image_planes + (c * p.vectors + e) * kLanes, v);
        sum = _mm512_add_ps(sum, v);
      }
      _mm512_storeu_ps(bias_sums + c * kLanes, sum);
    }
    ++images;
  }
};

// Adds to sums[c][t] (vectors, `taps` to a channel) the products of the gradient and the padded
// planes for Channels channels from c0 and Taps taps from t0, over all vectors of the group's
// images. Masked loads from the gradient itself kept GCC 12 from holding the sums in registers.
template <int64_t Channels, int64_t Taps>
void weight_gradient_block(const Plan& p, const GradientGroup& group, int64_t c0, int64_t t0,
                           int64_t taps, float* sums) {
  __m512 sum[Channels][Taps];
  for (int64_t g = 0; g < Channels; ++g)
    for (int64_t t = 0; t < Taps; ++t) sum[g][t] = _mm512_setzero_ps();
  int64_t tap[Taps];  // past the last tap: the first again, its sums never read
  for (int64_t t = 0; t < Taps; ++t) tap[t] = t0 + t < int64_t(p.taps.size()) ? p.taps[t0 + t] : 0;
  for (int64_t i = 0; i < group.images; ++i) {
    const float* padded = group.padded.data<float>() + i * group.padded_size;
    const float* planes =
        group.planes.data<float>() + i * group.planes_size + c0 * p.vectors * kLanes;
    for (int64_t e = 0; e < p.vectors; ++e) {
      const float* in = padded + e * kLanes;
      __m512 x[Taps];
      for (int64_t t = 0; t < Taps; ++t) x[t] = _mm512_loadu_ps(in + tap[t]);
      for (int64_t g = 0; g < Channels; ++g) {
        const __m512 gradient = _mm512_loadu_ps(planes + (g * p.vectors + e) * kLanes);
        for (int64_t t = 0; t < Taps; ++t) sum[g][t] = _mm512_fmadd_ps(gradient, x[t], sum[g][t]);
      }
    }
  }
  for (int64_t g = 0; g < Channels; ++g)
    for (int64_t t = 0; t < Taps; ++t) {
      float* to = sums + ((c0 + g) * taps + t0 + t) * kLanes;
      _mm512_storeu_ps(to, _mm512_add_ps(_mm512_loadu_ps(to), sum[g][t]));
    }
}

// Adds the products of the group's images to sums (`taps` to a channel): all blocks of Channels
// channels and Taps taps.
template <int64_t Channels, int64_t Taps>
void weight_gradient_blocks(const Plan& p, const GradientGroup& group, int64_t taps, float* sums) {
  for (int64_t c0 = 0; c0 < p.oc; c0 += Channels)
    for (int64_t t0 = 0; t0 < int64_t(p.taps.size()); t0 += Taps)
      weight_gradient_block<Channels, Taps>(p, group, c0, t0, taps, sums);
}

// 16 output channels (LeNet-5's second layer) fill a vector exactly: there the loops hold an
// output pixel's channels in a vector instead, multiplied by one input value (a broadcast load)
// per tap, so no lane is wasted on the dropped columns of the wide order. The sums are written
// channels-last and transposed into NCHW an image at a time; the weight gradient reads dy
// transposed the same way.

// planes [16, count] → pixels [count, 16] (the pixels' rows rounded up to 16, zeros past count).
void channels_last(const float* planes, int64_t count, float* pixels) {
  for (int64_t p0 = 0; p0 < count; p0 += kLanes) {
    const __mmask16 inside = lanes_from(0, count - p0);
    __m512 r[kLanes];
    for (int k = 0; k < kLanes; ++k) r[k] = _mm512_maskz_loadu_ps(inside, planes + k * count + p0);
    transpose(r);
    for (int k = 0; k < kLanes; ++k) _mm512_storeu_ps(pixels + (p0 + k) * kLanes, r[k]);
  }
}

// pixels [count, 16] (rows rounded up to 16) → planes [16, count].
void channels_first(const float* pixels, int64_t count, float* planes) {
  for (int64_t p0 = 0; p0 < count; p0 += kLanes) {
    const __mmask16 inside = lanes_from(0, count - p0);
    __m512 r[kLanes];
    for (int k = 0; k < kLanes; ++k) r[k] = _mm512_loadu_ps(pixels + (p0 + k) * kLanes);
    transpose(r);
    for (int k = 0; k < kLanes; ++k) _mm512_mask_storeu_ps(planes + k * count + p0, inside, r[k]);
  }
}

// The most output pixels of a row in one block of the forward pass: two rows of them and the
// tap's weights fill 25 registers.
constexpr int64_t kRowPixels = 12;

// Output pixels j0 .. j0 + J - 1 of rows i .. i + R - 1, all 16 channels, into `pixels`
// (channels-last), from the padded planes and the table (biases, then each tap's 16 weights).
template <int64_t J, int64_t R>
void lanes_forward_block(const Plan& p, const float* padded, const float* table, int64_t i,
                         int64_t j0, float* pixels) {
  __m512 sum[R][J];
  const __m512 bias = _mm512_loadu_ps(table);
  for (int64_t r = 0; r < R; ++r)
    for (int64_t j = 0; j < J; ++j) sum[r][j] = bias;
  const float* tap_weights = table + kLanes;
  const float* at = padded + i * p.stride + j0;
  for (const int64_t tap : p.taps) {
    const __m512 weight = _mm512_loadu_ps(tap_weights);
    for (int64_t r = 0; r < R; ++r) {
      const float* x = at + tap + r * p.stride;
      for (int64_t j = 0; j < J; ++j)
        sum[r][j] = _mm512_fmadd_ps(weight, _mm512_set1_ps(x[j]), sum[r][j]);
    }
    tap_weights += kLanes;
  }
  for (int64_t r = 0; r < R; ++r)
    for (int64_t j = 0; j < J; ++j)
      _mm512_storeu_ps(pixels + ((i + r) * p.ow + j0 + j) * kLanes, sum[r][j]);
}

// The block of `count` (at most kRowPixels) pixels from j0 of rows i .. i + R - 1.
template <int64_t R, int64_t J = kRowPixels>
void lanes_forward_pixels(const Plan& p, const float* padded, const float* table, int64_t i,
                          int64_t j0, int64_t count, float* pixels) {
  if constexpr (J > 1) {
    if (count < J) return lanes_forward_pixels<R, J - 1>(p, padded, table, i, j0, count, pixels);
  }
  lanes_forward_block<J, R>(p, padded, table, i, j0, pixels);
}

// y [n, 16, oh, ow] of the plan's images x with the table.
void lanes_forward(const Plan& p, const float* x, const std::vector<float>& table, float* y) {
  const int64_t count = p.oh * p.ow;
  parallel_for(p.n, 1, [&](int64_t begin, int64_t end) {
    const Tensor padded_planes = zeros(p.c * p.plane);
    const Tensor pixel_rows = zeros(rounded(count) * kLanes);
    float *padded = padded_planes.data<float>(), *pixels = pixel_rows.data<float>();
    for (int64_t n = begin; n < end; ++n) {
      p.pad(x + n * p.c * p.h * p.w, padded);
      for (int64_t i = 0; i < p.oh; i += 2)
        for (int64_t j0 = 0; j0 < p.ow; j0 += kRowPixels) {
          const int64_t pixels_here = std::min(kRowPixels, p.ow - j0);
          if (i + 1 < p.oh)
            lanes_forward_pixels<2>(p, padded, table.data(), i, j0, pixels_here, pixels);
          else
            lanes_forward_pixels<1>(p, padded, table.data(), i, j0, pixels_here, pixels);
        }
      channels_first(pixels, count, y + n * kLanes * count);
    }
  });
}

// The most kernel rows of a block of the weight gradient: Rows × KW sums in registers (at most
// 25, with dy's vector 26 of 32), and a pointer per row. LeNet-5's 30 rows of 5 go 5 at a time.
template <int64_t KW>
constexpr int64_t kKernelRows = std::min<int64_t>(8, 25 / KW);

// Adds to sums (vectors of 16 channels, KW per kernel row) the weight gradient of the kernel
// rows that start at `rows` in the padded planes (an input channel's row r: c · plane + r · S),
// from an image's padded planes and its dy channels-last.
template <int64_t KW>
__attribute__((optimize("no-predictive-commoning"))) void lanes_weight_gradient_block(
    const Plan& p, const float* padded, const float* dy_pixels, const int64_t* rows, float* sums) {
  constexpr int64_t Rows = kKernelRows<KW>;
  __m512 sum[Rows][KW];
  for (int64_t k = 0; k < Rows; ++k)
    for (int64_t s = 0; s < KW; ++s) sum[k][s] = _mm512_setzero_ps();
  for (int64_t i = 0; i < p.oh; ++i) {
    const float* x[Rows];
    for (int64_t k = 0; k < Rows; ++k) x[k] = padded + rows[k] + i * p.stride;
    const float* gradient = dy_pixels + i * p.ow * kLanes;
    for (int64_t j = 0; j < p.ow; ++j) {
      const __m512 g = _mm512_loadu_ps(gradient + j * kLanes);
      for (int64_t k = 0; k < Rows; ++k)
        for (int64_t s = 0; s < KW; ++s)
          sum[k][s] = _mm512_fmadd_ps(g, _mm512_set1_ps(x[k][j + s]), sum[k][s]);
    }
  }
  for (int64_t k = 0; k < Rows; ++k)
    for (int64_t s = 0; s < KW; ++s) {
      float* to = sums + (k * KW + s) * kLanes;
      _mm512_storeu_ps(to, _mm512_add_ps(_mm512_loadu_ps(to), sum[k][s]));
    }
}

// Adds the weight gradient of 16 output channels to sums [taps, 16] (rounded up to whole blocks
// of kernel rows) and the bias gradient to bias_sum, over images begin .. end - 1.
template <int64_t KW>
void lanes_weight_gradient(const Plan& p, const float* dy, const float* x, int64_t begin,
                           int64_t end, float* sums, float* bias_sum) {
  constexpr int64_t Rows = kKernelRows<KW>;
  const int64_t count = p.oh * p.ow, kernel_rows = p.c * p.kh;
  // Where each kernel row (c, r) reads, from the plane's start; past the last, the first again,
  // its sums never read.
  std::vector<int64_t> rows((kernel_rows + Rows - 1) / Rows * Rows, 0);
  for (int64_t cr = 0; cr < kernel_rows; ++cr)
    rows[cr] = cr / p.kh * p.plane + cr % p.kh * p.stride;
  const Tensor padded_planes = zeros(p.c * p.plane);
  const Tensor pixel_rows = zeros(rounded(count) * kLanes);
  float *padded = padded_planes.data<float>(), *dy_pixels = pixel_rows.data<float>();
  __m512 bias = _mm512_loadu_ps(bias_sum);
  for (int64_t n = begin; n < end; ++n) {
    p.pad(x + n * p.c * p.h * p.w, padded);
    channels_last(dy + n * kLanes * count, count, dy_pixels);
    for (int64_t e = 0; e < count; ++e)
      bias = _mm512_add_ps(bias, _mm512_loadu_ps(dy_pixels + e * kLanes));
    for (int64_t cr = 0; cr < kernel_rows; cr += Rows)
      lanes_weight_gradient_block<KW>(p, padded, dy_pixels, rows.data() + cr,
                                      sums + cr * KW * kLanes);
  }
  _mm512_storeu_ps(bias_sum, bias);
}

// The plan of a convolution of x with w.
Plan plan_of(const Shape& x, const Shape& w, const Conv2dGeometry& g) {
  return Plan(x[0], x[1], x[2], x[3], w[0], w[2], w[3], g.padding[0], g.padding[1]);
}

// The widest kernel the weight gradient of 16 channels is made for, a template per width.
constexpr int64_t kWidestKernel = 7;

// Whether the plan's output pixels go a vector of channels each: 16 channels, kernels up to
// kWidestKernel wide.
bool lanes_pay(const Plan& p) { return p.oc == kLanes && p.kw <= kWidestKernel; }

// The per-thread sums of lanes_weight_gradient for kernels KW wide (the plan's: KW counts down
// to it), then their total into dw and dbias.
template <int64_t KW = kWidestKernel>
void lanes_weight_gradient(const Plan& p, float* dw, float* dbias, const float* dy, const float* x,
                           float beta) {
  if constexpr (KW > 1) {
    if (p.kw < KW) return lanes_weight_gradient<KW - 1>(p, dw, dbias, dy, x, beta);
  }
  constexpr int64_t Rows = kKernelRows<KW>;
  const int64_t taps = int64_t(p.taps.size());
  const int64_t sums_size = ((p.c * p.kh + Rows - 1) / Rows * Rows * KW + 1) * kLanes;
  const int64_t threads = num_threads();
  std::vector<float> sums(threads * sums_size, 0.0f);
  parallel_for(threads, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      float* thread_sums = sums.data() + t * sums_size;
      lanes_weight_gradient<KW>(p, dy, x, p.n * t / threads, p.n * (t + 1) / threads, thread_sums,
                                thread_sums + sums_size - kLanes);
    }
  });
  for (int64_t o = 0; o < kLanes; ++o) {
    for (int64_t tap = 0; tap < taps; ++tap) {
      float total = 0.0f;
      for (int64_t t = 0; t < threads; ++t) total += sums[t * sums_size + tap * kLanes + o];
      float& to = dw[o * taps + tap];
      to = total + (beta == 0.0f ? 0.0f : beta * to);
    }
    if (dbias)
      for (int64_t t = 0; t < threads; ++t) dbias[o] += sums[(t + 1) * sums_size - kLanes + o];
  }
}

// The data gradient's sums for one row of the kernel: kChannels output channels from c0 of the
// vectors of Pixels from `start`, added to `sums` (planes of `plane`), from the padded planes
// of dy and the row's taps and weights. Row by row, an output row takes only the kernel rows
// that reach dy's rows: the correlation over all taps multiplied the zeros around dy too, for
// LeNet-5's second layer 31k products an image, 22k so.
struct Rows {
  const float* padded;
  const std::vector<int64_t>& taps;
  const float* table;
  int64_t channels, c0, oc;
  float* sums;
  int64_t plane;

  template <int64_t Pixels>
  [[gnu::noinline]] void add(int64_t start) const {  // inlined, GCC 12 kept the sums in memory
    __m512 sum[kChannels][Pixels];
    for (int64_t g = 0; g < kChannels; ++g)
      for (int64_t k = 0; k < Pixels; ++k) sum[g][k] = _mm512_setzero_ps();
    add_products(sum, padded + start, taps, table + c0, channels);
    for (int64_t g = 0; g < kChannels && c0 + g < oc; ++g)
      for (int64_t k = 0; k < Pixels; ++k) {
        float* to = sums + (c0 + g) * plane + start + k * kLanes;
        _mm512_storeu_ps(to, _mm512_add_ps(_mm512_loadu_ps(to), sum[g][k]));
      }
  }
};

}  // namespace

bool few_channel_conv_pays(const Shape& x, const Shape& w, const Conv2dGeometry& g) {
  return x[1] < kLanes && w[0] <= kLanes && g.groups == 1 && g.stride[0] == 1 && g.stride[1] == 1 &&
         g.dilation[0] == 1 && g.dilation[1] == 1 && g.padding[0] < w[2] && g.padding[1] < w[3] &&
         x[2] + 2 * g.padding[0] >= w[2] && x[3] + 2 * g.padding[1] >= w[3];
}

void few_channel_conv_forward(float* y, const float* x, const float* w, const float* bias,
                              const Shape& x_shape, const Shape& w_shape, const Conv2dGeometry& g) {
  const Plan p = plan_of(x_shape, w_shape, g);
  const int64_t taps = int64_t(p.taps.size());
  const auto table = table_of(p, bias, [&](int64_t o, int64_t t) { return w[o * taps + t]; });
  if (lanes_pay(p)) return lanes_forward(p, x, table, y);
  correlate(p, x, table, y);
}

void few_channel_conv_data_gradient(float* dx, const float* dy, const float* w,
                                    const Shape& x_shape, const Shape& w_shape,
                                    const Conv2dGeometry& g, float beta) {
  const int64_t oc = w_shape[0], c = w_shape[1], kh = w_shape[2], kw = w_shape[3];
  const int64_t oh = x_shape[2] + 2 * g.padding[0] - kh + 1;
  const int64_t ow = x_shape[3] + 2 * g.padding[1] - kw + 1;
  // dy's oc channels in, x's c out: the tap (o, r, s) of output channel i is w[o, i] flipped.
  const Plan p(x_shape[0], oc, oh, ow, c, kh, kw, kh - 1 - g.padding[0], kw - 1 - g.padding[1]);
  // Kernel row by kernel row: row r's taps, of every output channel and column, and their
  // weights (`channels` to a tap).
  std::vector<std::vector<int64_t>> taps(kh);
  std::vector<std::vector<float>> tables(kh);
  for (int64_t r = 0; r < kh; ++r) {
    tables[r].assign(oc * kw * p.channels, 0.0f);
    for (int64_t o = 0; o < oc; ++o)
      for (int64_t s = 0; s < kw; ++s) {
        taps[r].push_back(o * p.plane + r * p.stride + s);
        for (int64_t i = 0; i < c; ++i)
          tables[r][(o * kw + s) * p.channels + i] =
              w[((o * c + i) * kh + kh - 1 - r) * kw + kw - 1 - s];
      }
  }
  const int64_t sums_plane = rounded(p.oh * p.stride + kLanes);  // lanes past, see below
  parallel_for(p.n, 1, [&](int64_t begin, int64_t end) {
    const Tensor padded_planes = zeros(p.c * p.plane), sum_planes = zeros(p.channels * sums_plane);
    float *padded = padded_planes.data<float>(), *sums = sum_planes.data<float>();
    for (int64_t n = begin; n < end; ++n) {
      p.pad(dy + n * oc * oh * ow, padded);
      std::fill(sums, sums + p.channels * sums_plane, 0.0f);
      for (int64_t r = 0; r < kh; ++r) {
        // The output rows whose row r of taps reads dy's rows rather than the zeros around
        // them; the last vector's lanes past them read zeros, or outputs past the last row.
        const int64_t first = std::max<int64_t>(0, p.ph - r);
        const int64_t last = std::min(p.oh, p.ph + p.h - r);
        if (first >= last) continue;
        const int64_t start = first * p.stride;
        const int64_t vectors = ((last - first) * p.stride + kLanes - 1) / kLanes;
        for (int64_t c0 = 0; c0 < c; c0 += kChannels) {
          const Rows rows{padded, taps[r], tables[r].data(), p.channels, c0, c, sums, sums_plane};
          // Blocks of 4 vectors, or of 3 where they divide the vectors (LeNet-5's 9): a block of
          // one is held up by its loads.
          int64_t e = 0;
          if (vectors % kVectors != 0 && vectors % 3 == 0)
            for (; e < vectors; e += 3) rows.add<3>(start + e * kLanes);
          for (; e + kVectors <= vectors; e += kVectors) rows.add<kVectors>(start + e * kLanes);
          if (vectors - e >= 2) rows.add<2>(start + e * kLanes), e += 2;
          if (vectors - e == 1) rows.add<1>(start + e * kLanes);
        }
      }
      float* image = dx + n * c * p.oh * p.ow;
      for (int64_t i = 0; i < c; ++i)
        for (int64_t e = 0; e < p.vectors; ++e) {
          float* to = image + i * p.oh * p.ow + p.offsets[e];
          __m512 v = _mm512_loadu_ps(sums + i * sums_plane + e * kLanes);
          if (beta != 0.0f) v = _mm512_fmadd_ps(_mm512_set1_ps(beta), p.load(to, e), v);
          p.store(to, e, v);
        }
    }
  });
}

void few_channel_conv_weight_gradient(float* dw, float* dbias, const float* dy, const float* x,
                                      const Shape& x_shape, const Shape& w_shape,
                                      const Conv2dGeometry& g, float beta) {
  const Plan p = plan_of(x_shape, w_shape, g);
  if (lanes_pay(p)) return lanes_weight_gradient(p, dw, dbias, dy, x, beta);
  // Each thread sums its images' products lane by lane for every channel and tap, the bias after
  // the taps; the lanes are added up at the end, in a fixed order.
  const bool wide = p.channel_block == kWideChannels;
  const int64_t taps = int64_t(p.taps.size()), tap_block = wide ? kWideVectors : kVectors;
  const int64_t blocked_taps = (taps + tap_block - 1) / tap_block * tap_block;
  const int64_t threads = num_threads(), sums_size = p.channels * (blocked_taps + 1) * kLanes;
  std::vector<float> sums(threads * sums_size, 0.0f);
  parallel_for(threads, 1, [&](int64_t begin, int64_t end) {
    GradientGroup group(p);
    for (int64_t t = begin; t < end; ++t) {
      float* thread_sums = sums.data() + t * sums_size;
      float* bias_sums = thread_sums + p.channels * blocked_taps * kLanes;
      const int64_t last = p.n * (t + 1) / threads;
      for (int64_t n = p.n * t / threads; n < last; ++n) {
        group.add(p, x, dy, n, bias_sums);
        if (group.images < group.capacity && n + 1 < last) continue;
        if (wide)
          weight_gradient_blocks<kWideChannels, kWideVectors>(p, group, blocked_taps, thread_sums);
        else
          weight_gradient_blocks<kChannels, kVectors>(p, group, blocked_taps, thread_sums);
        group.images = 0;
      }
    }
  });
  // Adds up each channel's lanes of every thread's sums.
  std::vector<float> totals(p.oc * (taps + 1), 0.0f);
  for (int64_t t = 0; t < threads; ++t)
    for (int64_t c = 0; c < p.oc; ++c) {
      const float* from = sums.data() + t * sums_size;
      for (int64_t tap = 0; tap < taps; ++tap)
        for (int64_t l = 0; l < kLanes; ++l)
          totals[c * (taps + 1) + tap] += from[(c * blocked_taps + tap) * kLanes + l];
      for (int64_t l = 0; l < kLanes; ++l)
        totals[c * (taps + 1) + taps] += from[p.channels * blocked_taps * kLanes + c * kLanes + l];
    }
  for (int64_t c = 0; c < p.oc; ++c) {
    for (int64_t tap = 0; tap < taps; ++tap) {
      float& to = dw[c * taps + tap];
      to = totals[c * (taps + 1) + tap] + (beta == 0.0f ? 0.0f : beta * to);
    }
    if (dbias) dbias[c] += totals[c * (taps + 1) + taps];
  }
}

#else
bool few_channel_conv_pays(const Shape&, const Shape&, const Conv2dGeometry&) {
  return false;  // the loops are written for AVX-512
}
void few_channel_conv_forward(float*, const float*, const float*, const float*, const Shape&,
                              const Shape&, const Conv2dGeometry&) {
  fail("conv2d: the few-channel loops need AVX-512");
}
void few_channel_conv_data_gradient(float*, const float*, const float*, const Shape&, const Shape&,
                                    const Conv2dGeometry&, float) {
  fail("conv2d: the few-channel loops need AVX-512");
}
void few_channel_conv_weight_gradient(float*, float*, const float*, const float*, const Shape&,
                                      const Shape&, const Conv2dGeometry&, float) {
  fail("conv2d: the few-channel loops need AVX-512");
}
#endif

}  // namespace soma::cpu
