// A 3×3 convolution of stride 1 and padding 1 is a product of its input's columns, a row per
// output pixel holding the 3×3 window of its channels (im2col), by the weights as a matrix of
// (tap, input channel) rows by output channels. With channels-last activations a column's row is
// nine copies of a pixel's channels. The data gradient is the same product over dy's columns with
// the window flipped, by the weights transposed; the weight gradient is x's columns, transposed,
// by dy. oneDNN's matmul runs all three on AMX. For 128 images of 512 channels at 4×4 (2048 rows
// of 4608 columns, 19 MB in bf16) the products took 7.2, 6.5 and 9.5 ms, oneDNN 2.6's
// convolutions 13, 18 and 21 ms (the weight gradient 12 ms by f32 Winograd).
#include "soma/backend/cpu/im2col_conv.h"

#include <algorithm>
#include <cstring>

#include "soma/backend/cpu/dnnl_context.h"
#include "soma/core/parallel.h"

namespace soma::cpu {
namespace {

using dnnl::memory;
using Type = memory::data_type;

constexpr int64_t kTaps = 9;

memory::desc nhwc_bf16(const Shape& s) {
  return memory::desc(memory::dims(s.begin(), s.end()), Type::bf16, memory::format_tag::nhwc);
}

// Rows of `columns` for every pixel (n, y, x) of images [N, H, W, C] channels-last: tap (kh, kw)
// holds pixel (y + sign·(kh − 1), x + sign·(kw − 1)), zeros outside the image; sign +1 reads the
// window, −1 the flipped window (the data gradient's).
void im2col(const bfloat16* in, bfloat16* columns, const Shape& s, int sign) {
  const int64_t h = s[2], w = s[3], c = s[1];
  parallel_for(s[0] * h * w, 16, [&](int64_t begin, int64_t end) {
    for (int64_t m = begin; m < end; ++m) {
      const int64_t x = m % w, y = m / w % h, image = m / (w * h);
      bfloat16* row = columns + m * kTaps * c;
      for (int64_t t = 0; t < kTaps; ++t) {
        const int64_t iy = y + sign * (t / 3 - 1), ix = x + sign * (t % 3 - 1);
        bfloat16* to = row + t * c;
        if (iy < 0 || iy >= h || ix < 0 || ix >= w)
          std::memset(static_cast<void*>(to), 0, size_t(c) * sizeof(bfloat16));
        else
          std::memcpy(static_cast<void*>(to), in + ((image * h + iy) * w + ix) * c,
                      size_t(c) * sizeof(bfloat16));
      }
    }
  });
}

// The weights w [O, C, 3, 3] f32 as the matrix of rows (tap, `rows` channel) by `cols` channels:
// the forward pass's (rows C, cols O) and the data gradient's (rows O, cols C), in their element
// order (tap, row, col), f32 strides into w.
memory::desc weight_view(const Shape& w, bool transposed) {
  const int64_t o = w[0], c = w[1];
  const memory::dims dims = transposed ? memory::dims{kTaps, o, c} : memory::dims{kTaps, c, o};
  const memory::dims strides =
      transposed ? memory::dims{1, c * kTaps, kTaps} : memory::dims{1, kTaps, c * kTaps};
  return memory::desc(dims, Type::f32, strides);
}

memory::desc dense(const memory::dims& dims, Type type) {
  return memory::desc(dims, type,
                      dims.size() == 3 ? memory::format_tag::abc : memory::format_tag::ab);
}

// c = a · b on oneDNN's matmul, for 2-d descriptors (strides are transposes).
void product(const memory::desc& a, void* a_data, const memory::desc& b, void* b_data,
             const memory::desc& c, void* c_data, Key key) {
  key << "im2col_matmul" << a << b << c;
  dnnl::primitive& primitive = cached(key, [&] {
    return dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(a, b, c), engine()));
  });
  auto& e = engine();
  primitive.execute(stream(), {{DNNL_ARG_SRC, memory(a, e, a_data)},
                               {DNNL_ARG_WEIGHTS, memory(b, e, b_data)},
                               {DNNL_ARG_DST, memory(c, e, c_data)}});
}

// The columns of images t [N, C, H, W], read channels-last in bf16: rows N·H·W, columns 9·C.
Tensor columns_of(const Tensor& t, int sign, const Key& key) {
  const Shape& s = t.shape();
  const memory in = laid_out(nhwc_bf16(s), plain_f32(s), t, Key(key) << "nhwc");
  stream().wait();  // for the reorder, if any
  Tensor cols = Tensor::empty({s[0] * s[2] * s[3], kTaps * s[1]}, DType::BF16);
  im2col(static_cast<const bfloat16*>(in.get_data_handle()), cols.data<bfloat16>(), s, sign);
  return cols;
}

// A convolution written as columns (rows M, 9·K) by the weights as (9·K, N) into y's held
// channels-last bf16 layout, for the forward pass (transposed = false) and the data gradient.
void convolve(const Tensor& out, const Tensor& in, const Tensor& w, bool transposed, float beta,
              const char* what) {
  Key key;
  key << what << in.shape() << w.shape();
  const Tensor cols = columns_of(in, transposed ? -1 : 1, key);
  const memory::desc view = weight_view(w.shape(), transposed);
  const memory weights = laid_out(dense(view.dims(), Type::bf16), view, w, Key(key) << "w");
  const int64_t rows = cols.size(0), k = cols.size(1), n = out.size(1);
  LaidOutOutput y(nhwc_bf16(out.shape()), plain_f32(out.shape()), out, beta, Key(key) << "y",
                  /*hold=*/true);
  product(dense({rows, k}, Type::bf16), cols.raw_data(), dense({k, n}, Type::bf16),
          weights.get_data_handle(), dense({rows, n}, Type::bf16), y.memory().get_data_handle(),
          key);
  y.finish();
  stream().wait();
}

}  // namespace

bool im2col_pays(const Shape& x, const Shape& w, const Conv2dGeometry& g, bool bias) {
  return autocast_precision() == Precision::BF16 && !bias && g.groups == 1 && w[2] == 3 &&
         w[3] == 3 && g.stride[0] == 1 && g.stride[1] == 1 && g.padding[0] == 1 &&
         g.padding[1] == 1 && g.dilation[0] == 1 && g.dilation[1] == 1 && x[2] * x[3] <= 16 &&
         std::min(x[1], w[0]) >= 64;
}

void im2col_conv_forward(const Tensor& y, const Tensor& x, const Tensor& w) {
  convolve(y, x, w, /*transposed=*/false, 0.0f, "im2col_fwd");
}

void im2col_conv_backward_data(const Tensor& dx, const Tensor& dy, const Tensor& w, float beta) {
  convolve(dx, dy, w, /*transposed=*/true, beta, "im2col_bwd_data");
}

void im2col_conv_backward_weights(const Tensor& dw, const Tensor& dy, const Tensor& x, float beta) {
  Key key;
  key << "im2col_bwd_weights" << x.shape() << dw.shape();
  const Tensor cols = columns_of(x, 1, key);
  const memory up = laid_out(nhwc_bf16(dy.shape()), plain_f32(dy.shape()), dy, Key(key) << "dy");
  const int64_t rows = cols.size(0), k = cols.size(1), n = dy.size(1);
  // The product (tap, channel) × output channel, in f32, moved into dw's [O, C, 3, 3].
  const memory::desc view = weight_view(dw.shape(), false);
  LaidOutOutput out(dense(view.dims(), Type::f32), view, dw, beta, Key(key) << "dw");
  stream().wait();  // for dy's reorder, if any
  product(memory::desc({k, rows}, Type::bf16, {1, k}), cols.raw_data(),
          dense({rows, n}, Type::bf16), up.get_data_handle(), dense({k, n}, Type::f32),
          out.memory().get_data_handle(), key);
  out.finish();
  stream().wait();
}

}  // namespace soma::cpu
