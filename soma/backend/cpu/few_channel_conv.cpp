// A convolution of stride 1 is a sum over taps (input channel, kernel row, kernel column) of the
// input shifted by the tap times the tap's weight. The loops hold 16 output pixels of a channel
// in a vector, in a wide order: the input's planes are padded with zeros and laid out with a row
// stride S = W + PW, and output pixel (i, j) sits at i · S + j, so a tap is one load at a fixed
// offset for every vector. Lanes j ≥ OW read the right border, which is the next row's left one,
// zeros, and are dropped when the vector is stored, compressed into NCHW's row order. A block of
// 4 vectors × 6 output channels keeps 24 sums in registers, loading 10 vectors for every 24
// multiply-adds. LeNet-5's second layer (6 → 16 channels, 14×14 → 10×10) fills 100 of every 144
// lanes; oneDNN's NHWC kernels fill 6 of 16 for its input's channels, and its training step spent
// a third of its time in that layer's passes and the reorders around them.
//
// The data gradient is the same sum over dy padded by K - 1 - P, with the weights flipped and
// their two channel axes swapped. The weight gradient sums, over the vectors of all images, dy's
// vectors (expanded into the wide order, zeros in the dropped lanes) times the input's taps.
//
// Outputs are written, and gradients read, in soma's own NCHW, where the pooling that follows
// runs on rows too (see rows_pooled_by_loops): interleaving the channels (channels-last, as
// oneDNN's NHWC) took as long as the products.
#include "soma/backend/cpu/few_channel_conv.h"

#include <immintrin.h>
#include <algorithm>
#include <vector>

#include "soma/core/parallel.h"

namespace soma::cpu {

#if defined(__AVX512F__)
namespace {

constexpr int64_t kLanes = 16;
// A block of sums: kChannels output channels × kVectors vectors of pixels (or taps), or where
// the output channels come in eights (LeNet-5's second layer) kWideChannels × kWideVectors: 24
// sums in registers either way.
constexpr int64_t kChannels = 6, kVectors = 4, kWideChannels = 8, kWideVectors = 3;

// One stride-1 correlation of images [n, c, h, w] padded by (ph, pw) on both sides with a kernel
// [oc, c, kh, kw], in the wide order.
struct Plan {
  int64_t n, c, h, w, oc, kh, kw, ph, pw, oh, ow;
  int64_t stride;             // S: of the padded planes' rows and of the output positions
  int64_t vectors;            // of an output plane
  int64_t plane;              // floats of a padded plane, every tap of every vector inside
  int64_t channel_block;      // kChannels or kWideChannels
  int64_t channels;           // oc rounded up to whole blocks
  std::vector<int64_t> taps;  // where tap (channel, row, column) reads, from vector 0's start
  // Of vector e: how many output pixels precede it, and which of its lanes are outputs.
  std::vector<int64_t> offsets;
  std::vector<__mmask16> insides;

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
        plane((vectors * kLanes + (kh - 1) * stride + kw - 1 + kLanes - 1) / kLanes * kLanes),
        channel_block(oc % kWideChannels == 0 ? kWideChannels : kChannels),
        channels((oc + channel_block - 1) / channel_block * channel_block) {
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t r = 0; r < kh; ++r)
        for (int64_t col = 0; col < kw; ++col) taps.push_back(ch * plane + r * stride + col);
    for (int64_t e = 0; e < vectors; ++e) {
      __mmask16 inside = 0;
      for (int64_t l = 0; l < kLanes; ++l) {
        const int64_t at = e * kLanes + l;
        if (at / stride < oh && at % stride < ow) inside |= __mmask16(1u << l);
      }
      const int64_t at = e * kLanes;
      offsets.push_back(at / stride * ow + std::min(at % stride, ow));
      insides.push_back(inside);
    }
  }

  // An image's planes (c × h × w) into the padded planes, whose borders stay zero.
  void pad(const float* x, float* padded) const {
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < h; ++i)
        std::copy(x + (ch * h + i) * w, x + (ch * h + i + 1) * w,
                  padded + ch * plane + (i + ph) * stride + pw);
  }
};

// Outputs of Channels channels from c0 (those below oc) for the vectors e0 .. e0 + Pixels - 1
// into an image's planes `y` (plus beta times what they hold), from the padded planes and the
// weights laid out tap by tap (`table`, `channels` to a tap) with biases first.
template <int64_t Channels, int64_t Pixels>
void correlate_block(const Plan& p, const float* padded, const float* table, int64_t c0,
                     int64_t e0, float* y, float beta) {
  __m512 sum[Channels][Pixels];
  for (int64_t g = 0; g < Channels; ++g)
    for (int64_t k = 0; k < Pixels; ++k) sum[g][k] = _mm512_set1_ps(table[c0 + g]);
  const float* in = padded + e0 * kLanes;
  const float* tap_weights = table + p.channels + c0;
  for (const int64_t tap : p.taps) {
    __m512 x[Pixels];
    for (int64_t k = 0; k < Pixels; ++k) x[k] = _mm512_loadu_ps(in + tap + k * kLanes);
    for (int64_t g = 0; g < Channels; ++g) {
      const __m512 weight = _mm512_set1_ps(tap_weights[g]);
      for (int64_t k = 0; k < Pixels; ++k) sum[g][k] = _mm512_fmadd_ps(x[k], weight, sum[g][k]);
    }
    tap_weights += p.channels;
  }
  for (int64_t g = 0; g < Channels && c0 + g < p.oc; ++g)
    for (int64_t k = 0; k < Pixels; ++k) {
      const __mmask16 inside = p.insides[e0 + k];
      float* to = y + (c0 + g) * p.oh * p.ow + p.offsets[e0 + k];
      __m512 v = sum[g][k];
      if (beta != 0.0f)
        v = _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_maskz_expandloadu_ps(inside, to), v);
      _mm512_mask_compressstoreu_ps(to, inside, v);
    }
}

// An image's outputs of Channels channels from c0: whole blocks of Pixels vectors (at most 4),
// then the rest by two and one.
template <int64_t Channels, int64_t Pixels>
void correlate_channels(const Plan& p, const float* padded, const float* table, int64_t c0,
                        float* y, float beta) {
  int64_t e0 = 0;
  for (; e0 + Pixels <= p.vectors; e0 += Pixels)
    correlate_block<Channels, Pixels>(p, padded, table, c0, e0, y, beta);
  if (p.vectors - e0 >= 2) correlate_block<Channels, 2>(p, padded, table, c0, e0, y, beta), e0 += 2;
  if (p.vectors - e0 == 1) correlate_block<Channels, 1>(p, padded, table, c0, e0, y, beta);
}

// All outputs y [n, oc, oh, ow] (plus beta times what they hold) of the plan's correlation of
// images x [n, c, h, w] with the weights table.
void correlate(const Plan& p, const float* x, const std::vector<float>& table, float* y,
               float beta) {
  parallel_for(p.n, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> padded(p.c * p.plane, 0.0f);
    for (int64_t n = begin; n < end; ++n) {
      p.pad(x + n * p.c * p.h * p.w, padded.data());
      float* out = y + n * p.oc * p.oh * p.ow;
      for (int64_t c0 = 0; c0 < p.oc; c0 += p.channel_block)
        if (p.channel_block == kWideChannels)
          correlate_channels<kWideChannels, kWideVectors>(p, padded.data(), table.data(), c0, out,
                                                         beta);
        else
          correlate_channels<kChannels, kVectors>(p, padded.data(), table.data(), c0, out, beta);
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
  static constexpr int64_t kImages = 8;  // enough vectors per block to hide its sums' loads
  int64_t images = 0, padded_size, planes_size;
  std::vector<float> padded, planes;

  explicit GradientGroup(const Plan& p)
      : padded_size(p.c * p.plane),
        planes_size(p.channels * p.vectors * kLanes),
        padded(kImages * padded_size, 0.0f),
        planes(kImages * planes_size, 0.0f) {}

  // Image n of x and dy in as the group's next; its gradient's sums per channel, lane by lane,
  // are added to bias_sums.
  void add(const Plan& p, const float* x, const float* dy, int64_t n, float* bias_sums) {
    p.pad(x + n * p.c * p.h * p.w, padded.data() + images * padded_size);
    float* image_planes = planes.data() + images * planes_size;
    for (int64_t c = 0; c < p.oc; ++c) {
      const float* gradient = dy + (n * p.oc + c) * p.oh * p.ow;
      __m512 sum = _mm512_loadu_ps(bias_sums + c * kLanes);
      for (int64_t e = 0; e < p.vectors; ++e) {
        const __m512 v = _mm512_maskz_expandloadu_ps(p.insides[e], gradient + p.offsets[e]);
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
    const float* padded = group.padded.data() + i * group.padded_size;
    const float* planes = group.planes.data() + i * group.planes_size + c0 * p.vectors * kLanes;
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

}  // namespace

bool few_channel_conv_pays(const Shape& x, const Shape& w, const Conv2dGeometry& g) {
  return x[1] < kLanes && w[0] <= kLanes && g.groups == 1 && g.stride[0] == 1 &&
         g.stride[1] == 1 && g.dilation[0] == 1 && g.dilation[1] == 1 && g.padding[0] < w[2] &&
         g.padding[1] < w[3] && x[2] + 2 * g.padding[0] >= w[2] && x[3] + 2 * g.padding[1] >= w[3];
}

void few_channel_conv_forward(float* y, const float* x, const float* w, const float* bias,
                              const Shape& x_shape, const Shape& w_shape, const Conv2dGeometry& g) {
  const Plan p(x_shape[0], x_shape[1], x_shape[2], x_shape[3], w_shape[0], w_shape[2], w_shape[3],
               g.padding[0], g.padding[1]);
  const int64_t taps = int64_t(p.taps.size());
  correlate(p, x, table_of(p, bias, [&](int64_t o, int64_t t) { return w[o * taps + t]; }), y,
            0.0f);
}

void few_channel_conv_data_gradient(float* dx, const float* dy, const float* w,
                                    const Shape& x_shape, const Shape& w_shape,
                                    const Conv2dGeometry& g, float beta) {
  const int64_t oc = w_shape[0], c = w_shape[1], kh = w_shape[2], kw = w_shape[3];
  const int64_t oh = x_shape[2] + 2 * g.padding[0] - kh + 1;
  const int64_t ow = x_shape[3] + 2 * g.padding[1] - kw + 1;
  // dy's oc channels in, x's c out: the tap (o, r, s) of output channel i is w[o, i] flipped.
  const Plan p(x_shape[0], oc, oh, ow, c, kh, kw, kh - 1 - g.padding[0], kw - 1 - g.padding[1]);
  const auto flipped = [&](int64_t i, int64_t t) {
    const int64_t o = t / (kh * kw), r = t / kw % kh, s = t % kw;
    return w[((o * c + i) * kh + kh - 1 - r) * kw + kw - 1 - s];
  };
  correlate(p, dy, table_of(p, nullptr, flipped), dx, beta);
}

void few_channel_conv_weight_gradient(float* dw, float* dbias, const float* dy, const float* x,
                                      const Shape& x_shape, const Shape& w_shape,
                                      const Conv2dGeometry& g, float beta) {
  const Plan p(x_shape[0], x_shape[1], x_shape[2], x_shape[3], w_shape[0], w_shape[2], w_shape[3],
               g.padding[0], g.padding[1]);
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
        if (group.images < GradientGroup::kImages && n + 1 < last) continue;
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
