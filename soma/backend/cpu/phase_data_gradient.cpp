// With stride 2, dx's pixel (2i + u, 2j + v) takes from tap (a, b) the product with dy's pixel
// (i + (u + P − a) / 2, j + (v + P − b) / 2), for the taps with a − P − u and b − P − v even. So
// each phase (u, v) of dx is a stride-1 convolution of dy by those taps of the weights,
// transposed: for a 3 × 3 kernel 1 × 1, 1 × 2, 2 × 1 and 2 × 2 kernels, padded after the image
// only. oneDNN's forward AMX kernels run the four, each written to a buffer and then moved into
// dx's phase by a strided reorder.
#include "soma/backend/cpu/phase_data_gradient.h"

#include <cstring>

#include "soma/backend/cpu/dnnl_context.h"
#include "soma/core/parallel.h"

namespace soma::cpu {
namespace {

using dnnl::memory;
using Type = memory::data_type;

// Along one side, the taps that reach phase u of dx, as a stride-1 kernel over dy: kernel
// element m is tap taps[m], and dy is padded by `before` and `after`. No taps: size 0.
struct Side {
  int64_t size = 0, before = 0, after = 0;
  int64_t taps[8] = {};
};

Side side_of(int64_t kernel, int64_t padding, int64_t u) {
  Side side;
  int64_t low = kernel, high = -kernel;  // of the rows of dy that the taps reach, from dx's
  for (int64_t a = 0; a < kernel; ++a) {
    if ((a - padding - u) & 1) continue;
    const int64_t reach = (u + padding - a) / 2;
    low = std::min(low, reach), high = std::max(high, reach);
  }
  if (low > high) return side;
  side.size = high - low + 1, side.before = -low, side.after = high;
  for (int64_t a = 0; a < kernel; ++a)
    if (!((a - padding - u) & 1)) side.taps[(u + padding - a) / 2 - low] = a;
  return side;
}

memory::desc any(const memory::dims& dims) {
  return memory::desc(dims, Type::bf16, memory::format_tag::any);
}

}  // namespace

bool phase_data_gradient_pays(const Shape& dx, const Shape& w, const Conv2dGeometry& g) {
  return autocast_precision() == Precision::BF16 && g.groups == 1 && g.stride[0] == 2 &&
         g.stride[1] == 2 && g.dilation[0] == 1 && g.dilation[1] == 1 && w[2] % 2 == 1 &&
         w[3] % 2 == 1 && w[2] <= 15 && w[3] <= 15 && g.padding[0] == (w[2] - 1) / 2 &&
         g.padding[1] == (w[3] - 1) / 2 && dx[2] % 2 == 0 && dx[3] % 2 == 0 &&
         std::min(dx[1], w[0]) >= 16;
}

void phase_data_gradient(const Tensor& dx, const Tensor& dy, const Tensor& w,
                         const Conv2dGeometry& g, float beta) {
  const int64_t n = dx.size(0), c = dx.size(1), h = dx.size(2), width = dx.size(3);
  const int64_t o = w.size(0), oh = dy.size(2), ow = dy.size(3);
  Key key;
  key << "phase_data_gradient" << dx.shape() << w.shape();
  LaidOutOutput out(nhwc_bf16(dx.shape()), plain_f32(dx.shape()), dx, beta, Key(key) << "dx",
                    /*hold=*/true);
  auto* values = static_cast<bfloat16*>(out.memory().get_data_handle());
  Side rows[2], columns[2];
  for (int64_t u = 0; u < 2; ++u)
    rows[u] = side_of(w.size(2), g.padding[0], u), columns[u] = side_of(w.size(3), g.padding[1], u);
  // Phases no tap reaches (all but one for 1 × 1 kernels) stay zero.
  if (!rows[0].size || !rows[1].size || !columns[0].size || !columns[1].size)
    std::memset(static_cast<void*>(values), 0, size_t(dx.numel()) * sizeof(bfloat16));
  const Tensor phase = Tensor::empty({n * c * oh * ow}, DType::BF16);
  const float* weights = w.data<float>();
  for (int64_t u = 0; u < 2; ++u) {
    for (int64_t v = 0; v < 2; ++v) {
      const Side& r = rows[u];
      const Side& s = columns[v];
      if (!r.size || !s.size) continue;
      // The phase's kernel [C, O, r.size, s.size]: the taps, transposed.
      const Tensor kernel = Tensor::empty({c, o, r.size, s.size});
      float* k = kernel.data<float>();
      const int64_t kh = w.size(2), kw = w.size(3), taps = r.size * s.size;
      parallel_for(c, 1, [&](int64_t begin, int64_t end) {
        for (int64_t ci = begin; ci < end; ++ci)
          for (int64_t oi = 0; oi < o; ++oi) {
            const float* from = weights + (oi * c + ci) * kh * kw;
            float* to = k + (ci * o + oi) * taps;
            for (int64_t m = 0; m < r.size; ++m)
              for (int64_t l = 0; l < s.size; ++l)
                to[m * s.size + l] = from[r.taps[m] * kw + s.taps[l]];
          }
      });
      Key phase_key = Key(key) << u << v;
      dnnl::primitive& convolution = cached(phase_key, [&] {
        const dnnl::convolution_forward::desc desc(
            dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
            any({n, o, oh, ow}), any({c, o, r.size, s.size}), any({n, c, oh, ow}), {1, 1},
            {r.before, s.before}, {r.after, s.after});
        return dnnl::convolution_forward(dnnl::convolution_forward::primitive_desc(desc, engine()));
      });
      const memory::desc phase_desc = queried(convolution, dnnl::query::dst_md);
      const memory result(phase_desc, engine(), phase.raw_data());
      convolution.execute(
          stream(),
          {{DNNL_ARG_SRC, laid_out(queried(convolution, dnnl::query::src_md), plain_f32(dy.shape()),
                                   dy, Key(key) << "dy")},
           {DNNL_ARG_WEIGHTS, laid_out(queried(convolution, dnnl::query::weights_md),
                                       plain_f32(kernel.shape()), kernel, Key(phase_key) << "w")},
           {DNNL_ARG_DST, result}});
      // Into dx's phase: every other row and column of its channels-last values.
      const memory into(
          memory::desc({n, c, oh, ow}, Type::bf16, {h * width * c, 1, 2 * width * c, 2 * c}),
          engine(), values + (u * width + v) * c);
      cached(Key(phase_key) << "into", [&] {
        return dnnl::reorder(dnnl::reorder::primitive_desc(result, into));
      }).execute(stream(), {{DNNL_ARG_FROM, result}, {DNNL_ARG_TO, into}});
    }
  }
  out.finish();
  stream().wait();
}

}  // namespace soma::cpu
