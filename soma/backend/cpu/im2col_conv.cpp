// A convolution is a product of its input's columns, a row per output pixel holding the window of
// its channels (im2col), by the weights as a matrix of (tap, input channel) rows by output
// channels. With channels-last activations a column's row is a pixel's channels per tap. The data
// gradient (stride 1) is the same product over dy's columns with the window flipped, by the
// weights transposed; the weight gradient is x's columns, transposed, by dy. oneDNN's matmul runs
// all three on AMX, about twice as fast as oneDNN 2.6's convolutions of few output pixels.
#include "soma/backend/cpu/im2col_conv.h"

#include <algorithm>
#include <cstring>

#include "soma/backend/cpu/dnnl_context.h"
#include "soma/backend/cpu/vectors.h"
#include "soma/core/parallel.h"

namespace soma::cpu {
namespace {

using dnnl::memory;
using Type = memory::data_type;

// A square window of k × k taps (k odd) at stride `stride` over images [N, C, H, W], padded by
// (k - 1) / 2, and the outputs' height and width.
struct Window {
  Shape in;
  int64_t k, stride, out_h, out_w;
  int64_t taps() const { return k * k; }
  int64_t pad() const { return (k - 1) / 2; }
  int64_t rows() const { return in[0] * out_h * out_w; }
  int64_t cols() const { return taps() * in[1]; }
};

Window window_of(const Shape& in, const Shape& w, int64_t stride) {
  const int64_t k = w[2], pad = (k - 1) / 2;
  return {in, k, stride, (in[2] + 2 * pad - k) / stride + 1, (in[3] + 2 * pad - k) / stride + 1};
}

// Rows of `columns` for every output pixel (n, y, x) of images channels-last: tap (kh, kw)
// holds input pixel (y·stride + kh − pad, x·stride + kw − pad), zeros outside the image; with
// `flip` (stride 1: the data gradient's window) pixel (y − kh + pad, x − kw + pad).
void im2col(const bfloat16* in, bfloat16* columns, const Window& v, bool flip) {
  const int64_t h = v.in[2], w = v.in[3], c = v.in[1];
  parallel_for(v.rows(), 16, [&](int64_t begin, int64_t end) {
    for (int64_t m = begin; m < end; ++m) {
      const int64_t x = m % v.out_w, y = m / v.out_w % v.out_h, image = m / (v.out_w * v.out_h);
      bfloat16* row = columns + m * v.cols();
      for (int64_t t = 0; t < v.taps(); ++t) {
        const int64_t kh = t / v.k - v.pad(), kw = t % v.k - v.pad();
        const int64_t iy = flip ? y - kh : y * v.stride + kh;
        const int64_t ix = flip ? x - kw : x * v.stride + kw;
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

// The weights w [O, C, k, k] f32 as the matrix of rows (tap, `rows` channel) by `cols` channels:
// the forward pass's (rows C, cols O) and the data gradient's (rows O, cols C), in their element
// order (tap, row, col), f32 strides into w.
memory::desc weight_view(const Shape& w, bool transposed) {
  const int64_t o = w[0], c = w[1], taps = w[2] * w[3];
  const memory::dims dims = transposed ? memory::dims{taps, o, c} : memory::dims{taps, c, o};
  const memory::dims strides =
      transposed ? memory::dims{1, c * taps, taps} : memory::dims{1, taps, c * taps};
  return memory::desc(dims, Type::f32, strides);
}

memory::desc dense(const memory::dims& dims, Type type) {
  return memory::desc(dims, type,
                      dims.size() == 3 ? memory::format_tag::abc : memory::format_tag::ab);
}

// oneDNN's matmul for c = a · b, 2-d descriptors (strides are transposes); b may be "any".
dnnl::primitive& matmul_for(const memory::desc& a, const memory::desc& b, const memory::desc& c,
                            Key key) {
  key << "im2col_matmul" << a << b << c;
  return cached(key, [&] {
    return dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(a, b, c), engine()));
  });
}

// c = a · b on a primitive from matmul_for, in the layouts it chose.
void product(dnnl::primitive& primitive, void* a, void* b, void* c) {
  auto& e = engine();
  using dnnl::query;
  primitive.execute(stream(),
                    {{DNNL_ARG_SRC, memory(queried(primitive, query::src_md), e, a)},
                     {DNNL_ARG_WEIGHTS, memory(queried(primitive, query::weights_md), e, b)},
                     {DNNL_ARG_DST, memory(queried(primitive, query::dst_md), e, c)}});
}

// The width of the blocks of columns of `b`, a (k, n) matrix of weights w [O, C, kh, kw] as
// weight_view lays them out, where b is oneDNN's BA16a<width>b2a and pack_weights writes it (a
// tap's rows a multiple of its blocks' 32); 0 otherwise.
int64_t packed_width(const memory::desc& b, const Shape& w, bool transposed) {
#if !(defined(__AVX512F__) && defined(__AVX512BW__))
  return 0;  // pack_weights is written for AVX-512
#endif
  const memory::dims d = b.dims();
  const int64_t rows = transposed ? w[0] : w[1];  // of a tap's
  if (rows % 32 != 0) return 0;
  using Tag = memory::format_tag;
  for (const auto& [tag, width] : {std::pair{Tag::BA16a64b2a, 64}, std::pair{Tag::BA16a48b2a, 48},
                                   std::pair{Tag::BA16a32b2a, 32}})
    if (b == memory::desc(d, Type::bf16, tag) && d[1] % width == 0) return width;
  return 0;
}

#if defined(__AVX512F__) && defined(__AVX512BW__)
// 16 floats `step` apart from `at` (masked: the plain gather warns).
__m512 gathered(const float* at, __m512i step) {
  return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), 0xffff, step, at, 4);
}

// Rows lo and hi of a pair in bf16, each column's two values side by side.
__m512i pair_of(__m512 lo, __m512 hi) {
  return _mm512_or_si512(bf16_bits(lo), _mm512_maskz_slli_epi32(0xffff, bf16_bits(hi), 16));
}

// The weights w [O, C, kh, kw] f32 as the matrix weight_view lays out, in bf16 in oneDNN's
// BA16a<width>b2a: blocks of 32 rows by `width` columns, column blocks outermost, a block's rows
// in 16 pairs whose two values lie side by side, the layout oneDNN's AMX matmul reads its second
// operand in, in one pass. oneDNN 2.6 reorders f32 to that in two (to a row-major bf16 matrix,
// then into blocks); handed the row-major matrix, its matmul reblocks it for every block of rows
// it multiplies.
void pack_weights(const Tensor& w, bool transposed, int64_t width, bfloat16* to) {
  const Shape s = w.shape();
  const int64_t taps = s[2] * s[3], rows = transposed ? s[0] : s[1],
                cols = transposed ? s[1] : s[0];
  const int64_t row_blocks = taps * rows / 32;
  // Gathers read floats `taps` apart, within one output channel's weights: along the columns
  // for the data gradient, along the rows (then transposed) for the forward pass, whose columns
  // lie a whole output channel's weights apart (gathered along them, a gather would touch 16
  // pages).
  const __m512i step =
      _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                         _mm512_set1_epi32(int32_t(taps)));
  const float* from = w.data<float>();
  if (!transposed) {
    parallel_for(cols / 16 * (rows / 16), 4, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const int64_t o0 = t / (rows / 16) * 16, c0 = t % (rows / 16) * 16;
        for (int64_t tap = 0; tap < taps; ++tap) {
          __m512 v[16];
          for (int j = 0; j < 16; ++j)
            v[j] = gathered(from + ((o0 + j) * rows + c0) * taps + tap, step);
          transpose(v);  // v[i] lane j: w[o0 + j][c0 + i][tap], row tap · C + c0 + i
          const int64_t k0 = tap * rows + c0;
          bfloat16* out = to + (o0 / width * row_blocks + k0 / 32) * 32 * width +
                          (k0 % 32 / 2 * width + o0 % width) * 2;
          for (int p = 0; p < 8; ++p)
            _mm512_storeu_si512(out + p * width * 2, pair_of(v[2 * p], v[2 * p + 1]));
        }
      }
    });
    return;
  }
  parallel_for(cols / width * row_blocks, 16, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const int64_t r0 = b % row_blocks * 32, c0 = b / row_blocks * width;
      const int64_t tap = r0 / rows, i0 = r0 % rows;  // a block's 32 rows are one tap's
      bfloat16* out = to + b * 32 * width;
      for (int64_t pair = 0; pair < 16; ++pair) {
        // Rows o and o + 1: w[o][c][tap], columns c.
        const float* even = from + tap + (i0 + 2 * pair) * s[1] * taps;
        for (int64_t c = 0; c < width; c += 16)
          _mm512_storeu_si512(out + (pair * width + c) * 2,
                              pair_of(gathered(even + (c0 + c) * taps, step),
                                      gathered(even + (s[1] + c0 + c) * taps, step)));
      }
    }
  });
}
#else
void pack_weights(const Tensor&, bool, int64_t, bfloat16*) {
  fail("conv2d: packing weights needs AVX-512");  // unreachable: packed_width is 0
}
#endif

// The columns of images t, read channels-last in bf16: rows() × cols().
Tensor columns_of(const Tensor& t, const Window& v, bool flip, const Key& key) {
  const memory in = laid_out(nhwc_bf16(t.shape()), plain_f32(t.shape()), t, Key(key) << "nhwc");
  stream().wait();  // for the reorder, if any
  Tensor cols = Tensor::empty({v.rows(), v.cols()}, DType::BF16);
  im2col(static_cast<const bfloat16*>(in.get_data_handle()), cols.data<bfloat16>(), v, flip);
  return cols;
}

// out = in's columns by the weights as a (taps · K, N) matrix + beta · out, held in bf16
// channels-last: the forward pass (transposed = false) and the data gradient.
void convolve(const Tensor& out, const Tensor& in, const Tensor& w, int64_t stride, bool transposed,
              float beta, const char* what) {
  Key key;
  key << what << in.shape() << w.shape() << stride;
  const Tensor cols = columns_of(in, window_of(in.shape(), w.shape(), stride), transposed, key);
  const int64_t rows = cols.size(0), k = cols.size(1), n = out.size(1);
  LaidOutOutput y(nhwc_bf16(out.shape()), plain_f32(out.shape()), out, beta, Key(key) << "y",
                  /*hold=*/true);
  const memory::desc a = dense({rows, k}, Type::bf16), c = dense({rows, n}, Type::bf16);
  dnnl::primitive& blocked =
      matmul_for(a, memory::desc({k, n}, Type::bf16, memory::format_tag::any), c, key);
  const memory::desc blocked_b = queried(blocked, dnnl::query::weights_md);
  if (const int64_t width = packed_width(blocked_b, w.shape(), transposed)) {
    const Tensor weights =
        Tensor::empty({int64_t(blocked_b.get_size() / sizeof(bfloat16))}, DType::BF16);
    pack_weights(w, transposed, width, weights.data<bfloat16>());
    product(blocked, cols.raw_data(), weights.raw_data(), y.memory().get_data_handle());
  } else {
    const memory::desc view = weight_view(w.shape(), transposed);
    const memory weights = laid_out(dense(view.dims(), Type::bf16), view, w, Key(key) << "w");
    stream().wait();  // for the reorder
    product(matmul_for(a, dense({k, n}, Type::bf16), c, key), cols.raw_data(),
            weights.get_data_handle(), y.memory().get_data_handle());
  }
  y.finish();
  stream().wait();
}

}  // namespace

bool im2col_pays(const Shape& x, const Shape& w, const Shape& y, const Conv2dGeometry& g, bool bias,
                 bool data_gradient) {
  const int64_t k = w[2], stride = g.stride[0];
  return autocast_precision() == Precision::BF16 && !bias && g.groups == 1 && w[3] == k &&
         (k == 1 || k == 3) && g.padding[0] == (k - 1) / 2 && g.padding[1] == (k - 1) / 2 &&
         g.stride[1] == stride && (stride == 1 || (stride == 2 && !data_gradient)) &&
         g.dilation[0] == 1 && g.dilation[1] == 1 && y[2] * y[3] <= 16 &&
         std::min(x[1], w[0]) >= 64;
}

void im2col_conv_forward(const Tensor& y, const Tensor& x, const Tensor& w,
                         const Conv2dGeometry& g) {
  convolve(y, x, w, g.stride[0], /*transposed=*/false, 0.0f, "im2col_fwd");
}

void im2col_conv_backward_data(const Tensor& dx, const Tensor& dy, const Tensor& w, float beta) {
  convolve(dx, dy, w, 1, /*transposed=*/true, beta, "im2col_bwd_data");
}

void im2col_conv_backward_weights(const Tensor& dw, const Tensor& dy, const Tensor& x,
                                  const Conv2dGeometry& g, float beta) {
  Key key;
  key << "im2col_bwd_weights" << x.shape() << dw.shape() << g.stride[0];
  const Tensor cols = columns_of(x, window_of(x.shape(), dw.shape(), g.stride[0]), false, key);
  const memory up = laid_out(nhwc_bf16(dy.shape()), plain_f32(dy.shape()), dy, Key(key) << "dy");
  const int64_t rows = cols.size(0), k = cols.size(1), n = dy.size(1);
  // The product (tap, channel) × output channel, in f32, moved into dw's [O, C, k, k].
  const memory::desc view = weight_view(dw.shape(), false);
  LaidOutOutput out(dense(view.dims(), Type::f32), view, dw, beta, Key(key) << "dw");
  stream().wait();  // for dy's reorder, if any
  product(matmul_for(memory::desc({k, rows}, Type::bf16, {1, k}), dense({rows, n}, Type::bf16),
                     dense({k, n}, Type::f32), key),
          cols.raw_data(), up.get_data_handle(), out.memory().get_data_handle());
  out.finish();
  stream().wait();
}

}  // namespace soma::cpu
