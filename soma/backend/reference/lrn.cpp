// Local response normalisation as the formula reads, in double precision per column of
// channels.
#include <algorithm>
#include <cmath>
#include <vector>

#include "soma/backend/channel_split.h"
#include "soma/backend/reference/reference_backend.h"

namespace soma {
namespace {

// The channels c's sum covers: [c - size/2, c + (size - 1)/2] inside [0, channels).
struct ChannelWindow {
  int64_t begin, end;
};

ChannelWindow window_of(int64_t c, int64_t channels, int64_t size) {
  return {std::max<int64_t>(c - size / 2, 0), std::min(c + (size - 1) / 2 + 1, channels)};
}

// Calls visit(offset, stride) for every column of channels of x [N, C, ...]: channel c of the
// column sits at offset + c·stride.
template <class Visit>
void for_each_column(const Tensor& x, Visit&& visit) {
  const ChannelSplit s = split_channels(x);
  for (int64_t b = 0; b < s.n; ++b)
    for (int64_t i = 0; i < s.inner; ++i) visit(s.at(b, 0, i), s.inner);
}

// k + alpha / size · Σ x² over each channel's window, for one column.
template <class T>
std::vector<double> scales_of(const T* x, int64_t stride, int64_t channels, const LrnParams& p) {
  std::vector<double> scale(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    const ChannelWindow w = window_of(c, channels, p.size);
    double squares = 0;
    for (int64_t j = w.begin; j < w.end; ++j) squares += double(x[j * stride]) * x[j * stride];
    scale[size_t(c)] = p.k + p.alpha / double(p.size) * squares;
  }
  return scale;
}

}  // namespace

Tensor ReferenceBackend::lrn_forward(const Tensor& y, const Tensor& x, const LrnParams& p, bool) {
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t channels = x.size(1);
    for_each_column(x, [&](int64_t offset, int64_t stride) {
      const T* in = x.data<T>() + offset;
      T* out = y.data<T>() + offset;
      const std::vector<double> scale = scales_of(in, stride, channels, p);
      for (int64_t c = 0; c < channels; ++c)
        out[c * stride] = T(in[c * stride] * std::pow(scale[size_t(c)], -p.beta));
    });
  });
  return Tensor();
}

// dx_j = dy_j·s_j^-β - 2αβ/size · x_j · Σ_{c whose window holds j} dy_c·x_c·s_c^(-β-1).
void ReferenceBackend::lrn_backward(const Tensor& dx, const Tensor& dy, const Tensor& x,
                                    const Tensor&, const LrnParams& p) {
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t channels = x.size(1);
    for_each_column(x, [&](int64_t offset, int64_t stride) {
      const T* in = x.data<T>() + offset;
      const T* up = dy.data<T>() + offset;
      T* grad = dx.data<T>() + offset;
      const std::vector<double> scale = scales_of(in, stride, channels, p);
      for (int64_t j = 0; j < channels; ++j) {
        double through_scales = 0;
        for (int64_t c = 0; c < channels; ++c) {
          const ChannelWindow w = window_of(c, channels, p.size);
          if (j < w.begin || j >= w.end) continue;
          through_scales +=
              double(up[c * stride]) * in[c * stride] * std::pow(scale[size_t(c)], -p.beta - 1);
        }
        grad[j * stride] +=
            T(up[j * stride] * std::pow(scale[size_t(j)], -p.beta) -
              2 * p.alpha * p.beta / double(p.size) * in[j * stride] * through_scales);
      }
    });
  });
}

}  // namespace soma
