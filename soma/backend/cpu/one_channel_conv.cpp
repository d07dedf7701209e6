// A one-channel image's convolution is a matrix product of its patches, one per output pixel,
// by the weights: the lanes of a vector hold 16 neighbouring pixels of a row, so a patch's tap is
// one load from the image, and a block of 4 such vectors × 6 output channels keeps 24 sums in
// registers, loading 10 vectors for every 24 multiply-adds. oneDNN's kernels give each pixel's 6
// channels a vector of their own instead (6 of 16 lanes busy): for LeNet-5's 128 images its
// forward pass took 0.44 ms and its weight gradient 0.40 ms, these loops 0.15 and 0.21 ms. The
// outputs are written, and their gradients read, in soma's own NCHW, where a vector is a row's
// pixels of one channel: interleaving the channels by permutations (channels-last, as oneDNN's
// NHWC) took as long as the products, and the pooling that follows is faster on rows too (see
// rows_pooled_by_loops).
#include "soma/backend/cpu/one_channel_conv.h"

#include <immintrin.h>
#include <algorithm>
#include <vector>

#include "soma/core/parallel.h"

namespace soma::cpu {

#if defined(__AVX512F__)
namespace {

constexpr int64_t kLanes = 16;
// A block of sums: kChannels output channels of kPixels vectors of pixels, or of kTaps taps.
constexpr int64_t kChannels = 6, kPixels = 4, kTaps = 4;

// The lanes of the first `count` elements of a vector.
__mmask16 first_lanes(int64_t count) {
  return count >= kLanes ? __mmask16(0xffff) : count <= 0 ? 0 : __mmask16((1u << count) - 1);
}

// One convolution's geometry. Its output pixels go 16 to a vector, row by row (xvecs to a row,
// the last one short where ow is no multiple of 16), the vectors numbered e = i · xvecs + x / 16.
struct Plan {
  int64_t n, h, w, oc, kh, kw, oh, ow, ph, pw;
  int64_t xvecs, vectors;     // per row, and per image rounded up to whole blocks
  int64_t channels;           // oc rounded up to whole blocks
  int64_t padded_w;           // of the image padded with zeros: every tap of every vector inside
  int64_t rows;               // of the padded image, with zero rows for the vectors past the last
  std::vector<int64_t> taps;  // where tap (r, c)'s pixels start in the padded image, from (0, 0)'s
  // Of vector e: where its pixels start in the padded image (for tap (0, 0)) and in a plane of
  // outputs, and which of its lanes are outputs (none past the image's vectors).
  std::vector<int64_t> starts, offsets;
  std::vector<__mmask16> insides;

  Plan(const Shape& x, const Shape& w_shape, const Conv2dGeometry& g)
      : n(x[0]),
        h(x[2]),
        w(x[3]),
        oc(w_shape[0]),
        kh(w_shape[2]),
        kw(w_shape[3]),
        oh(h + 2 * g.padding[0] - kh + 1),
        ow(w + 2 * g.padding[1] - kw + 1),
        ph(g.padding[0]),
        pw(g.padding[1]),
        xvecs((ow + kLanes - 1) / kLanes),
        vectors((oh * xvecs + kPixels - 1) / kPixels * kPixels),
        channels((oc + kChannels - 1) / kChannels * kChannels),
        padded_w(xvecs * kLanes + kw - 1),
        rows(oh + kh - 1 + kPixels) {
    for (int64_t r = 0; r < kh; ++r)
      for (int64_t c = 0; c < kw; ++c) taps.push_back(r * padded_w + c);
    for (int64_t e = 0; e < vectors; ++e) {
      const int64_t i = e / xvecs, x0 = e % xvecs * kLanes;
      starts.push_back(i * padded_w + x0);
      offsets.push_back(i * ow + x0);
      insides.push_back(i < oh ? first_lanes(ow - x0) : __mmask16(0));
    }
  }

  // Image x (h × w) into the padded image, whose borders stay zero.
  void pad(const float* x, float* padded) const {
    for (int64_t i = 0; i < h; ++i)
      std::copy(x + i * w, x + (i + 1) * w, padded + (i + ph) * padded_w + pw);
  }
};

// Outputs of kChannels channels from c0 (those below oc) for the vectors of pixels e0 .. e0 +
// kPixels - 1 into an image's planes `y`, from the padded image and the weights laid out tap by
// tap (`weights`, `channels` to a tap) with biases first.
void forward_block(const Plan& p, const float* padded, const float* weights, int64_t c0, int64_t e0,
                   float* y) {
  __m512 sum[kChannels][kPixels];
  for (int64_t g = 0; g < kChannels; ++g)
    for (int64_t k = 0; k < kPixels; ++k) sum[g][k] = _mm512_set1_ps(weights[c0 + g]);
  const float* in[kPixels];
  for (int64_t k = 0; k < kPixels; ++k) in[k] = padded + p.starts[e0 + k];
  const float* tap_weights = weights + p.channels + c0;
  for (const int64_t tap : p.taps) {
    __m512 x[kPixels];
    for (int64_t k = 0; k < kPixels; ++k) x[k] = _mm512_loadu_ps(in[k] + tap);
    for (int64_t g = 0; g < kChannels; ++g) {
      const __m512 weight = _mm512_set1_ps(tap_weights[g]);
      for (int64_t k = 0; k < kPixels; ++k) sum[g][k] = _mm512_fmadd_ps(x[k], weight, sum[g][k]);
    }
    tap_weights += p.channels;
  }
  for (int64_t g = 0; g < kChannels; ++g)
    for (int64_t k = 0; k < kPixels; ++k)
      if (c0 + g < p.oc)
        _mm512_mask_storeu_ps(y + (c0 + g) * p.oh * p.ow + p.offsets[e0 + k], p.insides[e0 + k],
                              sum[g][k]);
}

// Adds to sums[c][t] (vectors) the products of the gradient and the padded image for kChannels
// channels from c0 and kTaps taps from t0, over all of an image's vectors of pixels. The gradient
// comes in `planes` (of `vectors` vectors per channel, zeros where no output is): masked loads
// from the gradient itself kept GCC 12 from holding the sums in registers.
void weight_gradient_block(const Plan& p, const float* padded, const float* planes, int64_t c0,
                           int64_t t0, float* sums) {
  __m512 sum[kChannels][kTaps];
  for (int64_t g = 0; g < kChannels; ++g)
    for (int64_t t = 0; t < kTaps; ++t) sum[g][t] = _mm512_setzero_ps();
  int64_t tap[kTaps];  // past the last tap: the first again, its sums never read
  for (int64_t t = 0; t < kTaps; ++t) tap[t] = t0 + t < int64_t(p.taps.size()) ? p.taps[t0 + t] : 0;
  for (int64_t e = 0; e < p.vectors; ++e) {
    const float* in = padded + p.starts[e];
    __m512 x[kTaps];
    for (int64_t t = 0; t < kTaps; ++t) x[t] = _mm512_loadu_ps(in + tap[t]);
    for (int64_t g = 0; g < kChannels; ++g) {
      const __m512 gradient = _mm512_loadu_ps(planes + ((c0 + g) * p.vectors + e) * kLanes);
      for (int64_t t = 0; t < kTaps; ++t) sum[g][t] = _mm512_fmadd_ps(gradient, x[t], sum[g][t]);
    }
  }
  const int64_t taps = (int64_t(p.taps.size()) + kTaps - 1) / kTaps * kTaps;
  for (int64_t g = 0; g < kChannels; ++g)
    for (int64_t t = 0; t < kTaps; ++t) {
      float* to = sums + ((c0 + g) * taps + t0 + t) * kLanes;
      _mm512_storeu_ps(to, _mm512_add_ps(_mm512_loadu_ps(to), sum[g][t]));
    }
}

}  // namespace

bool one_channel_conv_pays(const Shape& x, const Shape& w, const Conv2dGeometry& g) {
  return x[1] == 1 && w[0] < kLanes && g.groups == 1 && g.stride[0] == 1 && g.stride[1] == 1 &&
         g.dilation[0] == 1 && g.dilation[1] == 1;
}

void one_channel_conv_forward(float* y, const float* x, const float* w, const float* bias,
                              const Shape& x_shape, const Shape& w_shape, const Conv2dGeometry& g) {
  const Plan p(x_shape, w_shape, g);
  // The biases, then each tap's weights, `channels` apart, zeros past oc.
  const int64_t taps = int64_t(p.taps.size());
  std::vector<float> weights((taps + 1) * p.channels, 0.0f);
  for (int64_t c = 0; c < p.oc; ++c) {
    weights[c] = bias ? bias[c] : 0.0f;
    for (int64_t t = 0; t < taps; ++t) weights[(t + 1) * p.channels + c] = w[c * taps + t];
  }
  parallel_for(p.n, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> padded(p.rows * p.padded_w, 0.0f);
    for (int64_t n = begin; n < end; ++n) {
      p.pad(x + n * p.h * p.w, padded.data());
      for (int64_t c0 = 0; c0 < p.oc; c0 += kChannels)
        for (int64_t e0 = 0; e0 < p.vectors; e0 += kPixels)
          forward_block(p, padded.data(), weights.data(), c0, e0, y + n * p.oc * p.oh * p.ow);
    }
  });
}

void one_channel_conv_weight_gradient(float* dw, float* dbias, const float* dy, const float* x,
                                      const Shape& x_shape, const Shape& w_shape,
                                      const Conv2dGeometry& g, float beta) {
  const Plan p(x_shape, w_shape, g);
  // Each thread sums its images' products lane by lane for every channel and tap, the bias after
  // the taps; the lanes are added up at the end, in a fixed order.
  const int64_t taps = int64_t(p.taps.size()), blocked_taps = (taps + kTaps - 1) / kTaps * kTaps;
  const int64_t threads = num_threads(), sums_size = p.channels * (blocked_taps + 1) * kLanes;
  const int64_t plane = p.oh * p.ow;
  std::vector<float> sums(threads * sums_size, 0.0f);
  parallel_for(threads, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> padded(p.rows * p.padded_w, 0.0f);
    // Zeros in the planes of channels past oc and of vectors past the image's.
    std::vector<float> planes(p.channels * p.vectors * kLanes, 0.0f);
    for (int64_t t = begin; t < end; ++t) {
      float* thread_sums = sums.data() + t * sums_size;
      float* bias_sums = thread_sums + p.channels * blocked_taps * kLanes;
      for (int64_t n = p.n * t / threads; n < p.n * (t + 1) / threads; ++n) {
        p.pad(x + n * p.h * p.w, padded.data());
        for (int64_t c = 0; c < p.oc; ++c) {
          const float* gradient = dy + (n * p.oc + c) * plane;
          __m512 sum = _mm512_loadu_ps(bias_sums + c * kLanes);
          for (int64_t e = 0; e < p.vectors; ++e) {
            const __m512 v = _mm512_maskz_loadu_ps(p.insides[e], gradient + p.offsets[e]);
            _mm512_storeu_ps(planes.data() + (c * p.vectors + e) * kLanes, v);
            sum = _mm512_add_ps(sum, v);
          }
          _mm512_storeu_ps(bias_sums + c * kLanes, sum);
        }
        for (int64_t c0 = 0; c0 < p.oc; c0 += kChannels)
          for (int64_t t0 = 0; t0 < taps; t0 += kTaps)
            weight_gradient_block(p, padded.data(), planes.data(), c0, t0, thread_sums);
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
bool one_channel_conv_pays(const Shape&, const Shape&, const Conv2dGeometry&) {
  return false;  // the loops are written for AVX-512
}
void one_channel_conv_forward(float*, const float*, const float*, const float*, const Shape&,
                              const Shape&, const Conv2dGeometry&) {
  fail("conv2d: the one-channel loops need AVX-512");
}
void one_channel_conv_weight_gradient(float*, float*, const float*, const float*, const Shape&,
                                      const Shape&, const Conv2dGeometry&, float) {
  fail("conv2d: the one-channel loops need AVX-512");
}
#endif

}  // namespace soma::cpu
