// Convolutions on oneDNN's convolution primitives, in layouts of their own rather than soma's
// NCHW: oneDNN's direct AVX-512 kernels want channel-blocked or channels-last activations, and
// with plain NCHW it falls back to slower kernels, slower even with the reorders counted. Outputs
// stay in the primitive's layout, held by the tensor (cpu::Held), for the next primitive to read
// as they are. Under Autocast each pass that oneDNN has a bf16 jit kernel for runs in bf16, and
// the activations it writes stay bf16 (see ConvDescs). Convolutions of few channels run on soma's
// own loops in NCHW instead (see few_channel_conv), and under Autocast those of few output pixels
// as matrix products over im2col columns (see im2col_conv), most weight gradients on soma's own
// AMX loops (see amx_weight_gradient) and strided data gradients as stride-1 convolutions (see
// phase_data_gradient).
#include <algorithm>
#include <string>

#include "soma/backend/cpu/amx_weight_gradient.h"
#include "soma/backend/cpu/cpu_backend.h"
#include "soma/backend/cpu/dnnl_context.h"
#include "soma/backend/cpu/few_channel_conv.h"
#include "soma/backend/cpu/im2col_conv.h"
#include "soma/backend/cpu/phase_data_gradient.h"
#include "soma/core/parallel.h"

namespace soma {
namespace {

using dnnl::memory;
using dnnl::prop_kind;

// The descriptors of one convolution, in soma's plain layouts and as "any" for the primitive. In
// the compute precision (bf16 under Autocast): the activations and their gradients, read and
// written, and the weights read; the weight gradient is written in f32. Writing activations in
// bf16 spares the next convolution a conversion and the layers between them half their memory
// traffic.
struct ConvDescs {
  memory::desc x, w, bias, y;  // plain
  memory::desc any_x, any_y, in_w, out_w;
  memory::dims strides, dilates, padding;
  dnnl::algorithm algorithm;
  cpu::Key key;
};

// Every pass of a convolution does one multiply-add per output element and weight of a group.
int64_t multiply_adds(const Shape& y, const Shape& w) { return numel(y) * (numel(w) / w[0]); }

// Channels-last activations (NHWC) for convolutions with fewer than 16 channels on either side,
// the primitive's own choice (channel blocks of 16) otherwise. A 16-channel block pads LeNet-5's
// 6-channel activations to 16, which the activations and pooling between the convolutions then
// read and write too. Wider convolutions are faster blocked, and so is small work, on one thread
// (see SerialWhenSmall): oneDNN's NHWC kernel takes longer to set up.
bool channels_last(const Shape& x, const Shape& w, const Shape& y) {
  return std::min(x[1], y[1]) < 16 && multiply_adds(y, w) >= cpu::kSmallMultiplyAdds;
}

// Winograd's F(4×4, 3×3) for f32 3×3 convolutions of stride 1 with enough channels and output
// tiles: it does a quarter of the multiplications, and oneDNN runs all three passes about twice
// as fast as its direct kernels. Narrow layers, and few tiles to spread the weights' transform
// over, are faster direct (a CIFAR network's 3→64 input layer, one image at 8×8). Its results
// differ from the direct sum's by rounding, about 1e-5 of an output's scale. oneDNN has it in f32
// only: bf16 passes stay direct.
bool winograd_pays(const Shape& x, const Shape& w, const Shape& y, const Conv2dGeometry& g) {
  const int64_t tiles = y[0] * ((y[2] + 3) / 4) * ((y[3] + 3) / 4);
  return g.groups == 1 && w[2] == 3 && w[3] == 3 && g.stride[0] == 1 && g.stride[1] == 1 &&
         g.dilation[0] == 1 && g.dilation[1] == 1 && std::min(x[1], y[1]) > 16 && tiles >= 64;
}

// The three passes of a convolution, named as in the primitive cache's keys.
enum class Pass { Forward, Data, Weights };
const char* name(Pass pass) {
  return pass == Pass::Forward ? "conv_fwd"
         : pass == Pass::Data  ? "conv_bwd_data"
                               : "conv_bwd_weights";
}

// Winograd in f32 computes the weight gradient faster than oneDNN 2.6's AMX kernels do in bf16
// for layers of 4×4 outputs or fewer (ResNet-18's last stage, airbench's), where most outputs lie
// on the zero-padded border. AMX keeps the other passes and larger layers. Layers of channels in
// multiples of 32 go to soma's AMX loops before this, which are faster still (see
// cpu::amx_weight_gradient_pays), and other layers of 64 channels or more to the im2col products
// (see cpu::im2col_pays).
bool winograd_beats_amx(Pass pass, const Shape& y) {
  return pass == Pass::Weights && y[2] * y[3] <= 16;
}

ConvDescs descs_of(const Shape& x, const Shape& w, const Shape& y, bool bias,
                   const Conv2dGeometry& g, bool bf16, bool nhwc, bool winograd) {
  ConvDescs d;
  d.x = cpu::plain_f32(x);
  d.y = cpu::plain_f32(y);
  // Grouped weights are [G, O/G, C/G, KH, KW] to oneDNN: the same bytes as soma's [O, C/G, KH, KW].
  d.w = g.groups == 1 ? cpu::plain_f32(w)
                      : cpu::plain_f32({g.groups, w[0] / g.groups, w[1], w[2], w[3]});
  if (bias) d.bias = cpu::plain_f32({w[0]});
  const auto activation = nhwc ? memory::format_tag::nhwc : memory::format_tag::any;
  auto any = [&](const memory::desc& plain, memory::data_type type) {
    return memory::desc(plain.dims(), type, &plain == &d.w ? memory::format_tag::any : activation);
  };
  const auto compute = bf16 ? memory::data_type::bf16 : memory::data_type::f32;
  d.any_x = any(d.x, compute), d.any_y = any(d.y, compute), d.in_w = any(d.w, compute);
  d.out_w = any(d.w, memory::data_type::f32);
  d.strides = {g.stride[0], g.stride[1]};
  d.dilates = {g.dilation[0] - 1, g.dilation[1] - 1};  // oneDNN counts the holes
  d.padding = {g.padding[0], g.padding[1]};
  d.algorithm =
      winograd ? dnnl::algorithm::convolution_winograd : dnnl::algorithm::convolution_direct;
  d.key << x << w << y << int64_t(bias) << g.stride[0] << g.stride[1] << g.padding[0]
        << g.padding[1] << g.dilation[0] << g.dilation[1] << g.groups << int64_t(bf16)
        << int64_t(nhwc) << int64_t(winograd);
  return d;
}

dnnl::convolution_forward::primitive_desc forward_desc(const ConvDescs& d,
                                                       const dnnl::primitive_attr& attr = {}) {
  const auto desc = d.bias.is_zero()
                        ? dnnl::convolution_forward::desc(prop_kind::forward_training, d.algorithm,
                                                          d.any_x, d.in_w, d.any_y, d.strides,
                                                          d.dilates, d.padding, d.padding)
                        : dnnl::convolution_forward::desc(
                              prop_kind::forward_training, d.algorithm, d.any_x, d.in_w, d.bias,
                              d.any_y, d.strides, d.dilates, d.padding, d.padding);
  return {desc, attr, cpu::engine()};
}

cpu::Key with(cpu::Key key, const char* part) { return key << part; }

// One pass of a convolution: its descriptors and primitive, made by make(descs) under the pass's
// name in the cache. Under Autocast the pass runs in bf16 and NHWC where channels_last says so,
// in f32 by Winograd where winograd_pays (under Autocast too where winograd_beats_amx). Where
// oneDNN has no kernel for that, or would fall back to gemm or reference code (as for the weight
// gradient of LeNet-5's one-channel input in bf16), the pass drops NHWC, then bf16, then
// Winograd.
template <class Make>
std::pair<ConvDescs, dnnl::primitive*> pass_of(Pass pass, const Shape& x, const Shape& w,
                                               const Shape& y, bool bias, const Conv2dGeometry& g,
                                               Make&& make) {
  const bool bf16 = autocast_precision() == Precision::BF16, nhwc = channels_last(x, w, y),
             winograd = winograd_pays(x, w, y, g);
  struct Try {
    bool bf16, nhwc, winograd;
  };
  const Try tries[] = {{false, false, bf16 && winograd && winograd_beats_amx(pass, y)},
                       {bf16, nhwc, false},
                       {bf16, false, false},
                       {false, nhwc, false},
                       {false, false, winograd},
                       {false, false, false}};
  for (const Try& t : tries) {
    const bool last = &t == &tries[std::size(tries) - 1];  // plain f32 direct: always there
    if ((t.bf16 && !bf16) || (t.nhwc && !nhwc) || (t.winograd && !winograd)) continue;
    if (!last && !t.bf16 && !t.nhwc && !t.winograd) continue;
    ConvDescs d = descs_of(x, w, y, bias, g, t.bf16, t.nhwc, t.winograd);
    if (last) return {d, &cpu::cached(with(d.key, name(pass)), [&] { return make(d); })};
    dnnl::primitive* primitive = nullptr;
    try {
      primitive = &cpu::cached(with(d.key, name(pass)), [&] { return make(d); });
    } catch (const dnnl::error& e) {
      if (e.status != dnnl_unimplemented) throw;
      continue;
    }
    const char* impl = nullptr;
    dnnl_primitive_desc_query(primitive->get_primitive_desc(), dnnl_query_impl_info_str, 0, &impl);
    const std::string kernel = impl ? impl : "";
    const bool slow =
        kernel.find("gemm") != std::string::npos || kernel.find("ref") != std::string::npos;
    if (!slow) return {d, primitive};
  }
  fail("conv2d: no convolution primitive");  // unreachable: the last try returns
}

// y = x convolved by w + beta · y, on oneDNN's forward primitive; w's bytes as `w_view` lays them
// out, if given.
void forward(const Tensor& y, const Tensor& x, const Tensor& w, const memory::desc* w_view,
             const Tensor& bias, const Conv2dGeometry& g, float beta, const char* what) {
  // Named, not structured bindings: a lambda below captures d (clang 14 cannot capture bindings).
  const auto found =
      pass_of(Pass::Forward, x.shape(), w.shape(), y.shape(), bias.defined(), g,
              [](const ConvDescs& d) { return dnnl::convolution_forward(forward_desc(d)); });
  const ConvDescs& d = found.first;
  dnnl::primitive& primitive = *found.second;
  using dnnl::query;
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC,
       cpu::laid_out(cpu::queried(primitive, query::src_md), d.x, x, with(d.key, "conv_fwd_x"))},
      {DNNL_ARG_WEIGHTS, cpu::laid_out(cpu::queried(primitive, query::weights_md),
                                       w_view ? *w_view : d.w, w, with(with(d.key, what), "w"))}};
  if (bias.defined()) args.emplace(DNNL_ARG_BIAS, memory(d.bias, cpu::engine(), bias.raw_data()));
  const memory::desc dst = cpu::queried(primitive, query::dst_md);
  cpu::LaidOutOutput out(dst, d.y, y, beta, with(with(d.key, what), "y"), /*hold=*/true);
  // A result added to values held as it is laid out (a data gradient arriving at a residual
  // connection's second branch) is added by the primitive itself, as a sum post-op: the sum in a
  // reorder afterwards read and wrote the values again, and the result once more.
  if (const memory* into = out.sum_in_place()) {
    dnnl::primitive& summing = cpu::cached(with(d.key, "conv_fwd_sum"), [&] {
      dnnl::post_ops sum;
      sum.append_sum(1.0f);
      dnnl::primitive_attr attr;
      attr.set_post_ops(sum);
      return dnnl::convolution_forward(forward_desc(d, attr));
    });
    SOMA_CHECK(cpu::queried(summing, query::dst_md) == dst,
               "conv2d: expected the summing primitive to write the layout of the plain one");
    args.emplace(DNNL_ARG_DST, *into);
    summing.execute(cpu::stream(), args);
    cpu::stream().wait();
    return;
  }
  args.emplace(DNNL_ARG_DST, out.memory());
  primitive.execute(cpu::stream(), args);
  out.finish();
  cpu::stream().wait();
}

// The data gradient of a stride-1 convolution is the forward convolution of dy by the weights
// transposed and flipped, padded by K − 1 − P. Under Autocast oneDNN 2.6's forward AMX kernels
// run it faster than its backward-data kernels.
bool data_gradient_as_forward(const Shape& dx, const Shape& w, const Conv2dGeometry& g) {
  return autocast_precision() == Precision::BF16 && g.groups == 1 && g.stride[0] == 1 &&
         g.stride[1] == 1 && g.dilation[0] == 1 && g.dilation[1] == 1 && g.padding[0] < w[2] &&
         g.padding[1] < w[3] && std::min(dx[1], w[0]) >= 16;
}

// dx = dy convolved by w [O, C, KH, KW] transposed and flipped + beta · dx. The flip is copied
// (oneDNN's strides cannot run backwards); the transpose is a view, which the reorder of the
// weights into the primitive's layout reads.
void data_gradient_by_forward(const Tensor& dx, const Tensor& dy, const Tensor& w,
                              const Conv2dGeometry& g, float beta) {
  const int64_t o = w.size(0), c = w.size(1), taps = w.size(2) * w.size(3);
  const Tensor flipped = Tensor::empty(w.shape());
  const float* from = w.data<float>();
  float* to = flipped.data<float>();
  parallel_for(o * c, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k)
      for (int64_t t = 0; t < taps; ++t) to[k * taps + t] = from[k * taps + taps - 1 - t];
  });
  const Shape transposed{c, o, w.size(2), w.size(3)};
  const memory::desc view(memory::dims(transposed.begin(), transposed.end()),
                          memory::data_type::f32, {taps, c * taps, w.size(3), 1});
  const Conv2dGeometry flipped_g{
      .padding = {w.size(2) - 1 - g.padding[0], w.size(3) - 1 - g.padding[1]}};
  forward(dx, dy, flipped.view(transposed), &view, Tensor(), flipped_g, beta, "conv_bwd_data_fwd");
}

}  // namespace

void CpuBackend::conv2d_forward(const Tensor& y, const Tensor& x, const Tensor& w,
                                const Tensor& bias, const Conv2dGeometry& g) {
  if (x.dtype() != DType::F32 || y.numel() == 0)
    return ReferenceBackend::conv2d_forward(y, x, w, bias, g);
  const cpu::SerialWhenSmall serial(multiply_adds(y.shape(), w.shape()), cpu::kSmallMultiplyAdds);
  if (cpu::few_channel_conv_pays(x.shape(), w.shape(), g))
    return cpu::few_channel_conv_forward(y.data<float>(), x.data<float>(), w.data<float>(),
                                         bias.defined() ? bias.data<float>() : nullptr, x.shape(),
                                         w.shape(), g);
  if (cpu::im2col_pays(x.shape(), w.shape(), y.shape(), g, bias.defined(), false))
    return cpu::im2col_conv_forward(y, x, w, g);
  forward(y, x, w, nullptr, bias, g, 0.0f, "conv_fwd");
}

void CpuBackend::conv2d_backward_data(const Tensor& dx, const Tensor& dy, const Tensor& w,
                                      const Conv2dGeometry& g, float beta) {
  if (dx.dtype() != DType::F32 || dx.numel() == 0)
    return ReferenceBackend::conv2d_backward_data(dx, dy, w, g, beta);
  const cpu::SerialWhenSmall serial(multiply_adds(dy.shape(), w.shape()), cpu::kSmallMultiplyAdds);
  if (cpu::few_channel_conv_pays(dx.shape(), w.shape(), g))
    return cpu::few_channel_conv_data_gradient(dx.data<float>(), dy.data<float>(), w.data<float>(),
                                               dx.shape(), w.shape(), g, beta);
  if (cpu::im2col_pays(dx.shape(), w.shape(), dy.shape(), g, false, true))
    return cpu::im2col_conv_backward_data(dx, dy, w, beta);
  if (data_gradient_as_forward(dx.shape(), w.shape(), g))
    return data_gradient_by_forward(dx, dy, w, g, beta);
  if (cpu::phase_data_gradient_pays(dx.shape(), w.shape(), g))
    return cpu::phase_data_gradient(dx, dy, w, g, beta);
  const auto [d, pass] =
      pass_of(Pass::Data, dx.shape(), w.shape(), dy.shape(), false, g, [](const ConvDescs& d) {
        return dnnl::convolution_backward_data(dnnl::convolution_backward_data::primitive_desc(
            dnnl::convolution_backward_data::desc(d.algorithm, d.any_x, d.in_w, d.any_y, d.strides,
                                                  d.dilates, d.padding, d.padding),
            cpu::engine(), forward_desc(d)));
      });
  dnnl::primitive& primitive = *pass;
  using dnnl::query;
  cpu::LaidOutOutput out(cpu::queried(primitive, query::diff_src_md), d.x, dx, beta,
                         with(d.key, "conv_bwd_data_dx"), /*hold=*/true);
  primitive.execute(cpu::stream(),
                    {{DNNL_ARG_DIFF_DST, cpu::laid_out(cpu::queried(primitive, query::diff_dst_md),
                                                       d.y, dy, with(d.key, "conv_bwd_data_dy"))},
                     {DNNL_ARG_WEIGHTS, cpu::laid_out(cpu::queried(primitive, query::weights_md),
                                                      d.w, w, with(d.key, "conv_bwd_data_w"))},
                     {DNNL_ARG_DIFF_SRC, out.memory()}});
  out.finish();
  cpu::stream().wait();
}

void CpuBackend::conv2d_backward_weights(const Tensor& dw, const Tensor& dbias, const Tensor& dy,
                                         const Tensor& x, const Conv2dGeometry& g, float beta) {
  if (dw.dtype() != DType::F32 || dy.numel() == 0)
    return ReferenceBackend::conv2d_backward_weights(dw, dbias, dy, x, g, beta);
  const cpu::SerialWhenSmall serial(multiply_adds(dy.shape(), dw.shape()), cpu::kSmallMultiplyAdds);
  if (cpu::few_channel_conv_pays(x.shape(), dw.shape(), g))
    return cpu::few_channel_conv_weight_gradient(
        dw.data<float>(), dbias.defined() ? dbias.data<float>() : nullptr, dy.data<float>(),
        x.data<float>(), x.shape(), dw.shape(), g, beta);
  if (cpu::amx_weight_gradient_pays(x.shape(), dw.shape(), g, dbias.defined()))
    return cpu::amx_weight_gradient(dw, dy, x, g, beta);
  if (cpu::im2col_pays(x.shape(), dw.shape(), dy.shape(), g, dbias.defined(), false))
    return cpu::im2col_conv_backward_weights(dw, dy, x, g, beta);
  const auto [d, pass] = pass_of(
      Pass::Weights, x.shape(), dw.shape(), dy.shape(), dbias.defined(), g, [](const ConvDescs& d) {
        const auto desc = d.bias.is_zero() ? dnnl::convolution_backward_weights::desc(
                                                 d.algorithm, d.any_x, d.out_w, d.any_y, d.strides,
                                                 d.dilates, d.padding, d.padding)
                                           : dnnl::convolution_backward_weights::desc(
                                                 d.algorithm, d.any_x, d.out_w, d.bias, d.any_y,
                                                 d.strides, d.dilates, d.padding, d.padding);
        return dnnl::convolution_backward_weights(
            dnnl::convolution_backward_weights::primitive_desc(desc, cpu::engine(),
                                                               forward_desc(d)));
      });
  dnnl::primitive& primitive = *pass;
  using dnnl::query;
  cpu::LaidOutOutput out(cpu::queried(primitive, query::diff_weights_md), d.w, dw, beta,
                         with(d.key, "conv_bwd_weights_dw"));
  // The bias gradient accumulates as every backward kernel does: computed aside, then added.
  Tensor bias_gradient = dbias.defined() ? Tensor::empty_like(dbias) : Tensor();
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, cpu::laid_out(cpu::queried(primitive, query::src_md), d.x, x,
                                   with(d.key, "conv_bwd_weights_x"))},
      {DNNL_ARG_DIFF_DST, cpu::laid_out(cpu::queried(primitive, query::diff_dst_md), d.y, dy,
                                        with(d.key, "conv_bwd_weights_dy"))},
      {DNNL_ARG_DIFF_WEIGHTS, out.memory()}};
  if (dbias.defined())
    args.emplace(DNNL_ARG_DIFF_BIAS, memory(d.bias, cpu::engine(), bias_gradient.raw_data()));
  primitive.execute(cpu::stream(), args);
  out.finish();
  cpu::stream().wait();
  if (dbias.defined()) add_into(dbias.data<float>(), bias_gradient.data<float>(), dbias.numel());
}

}  // namespace soma
