// Matrix products on oneDNN's matmul primitive. Transposes are strides in the memory descriptor,
// the bias is fused, and accumulation (beta = 1, as backward needs) is a sum post-op, so no call
// here copies or adds on its own in f32; under Autocast the operands are converted to bf16 first.
// Products of a few rows go to oneDNN's sgemm instead (see kFewRows).
#include "soma/backend/cpu/cpu_backend.h"
#include "soma/backend/cpu/dnnl_context.h"

namespace soma {
namespace {

using dnnl::memory;

// The descriptor of op(t) for a 2-d or 3-d tensor t, op transposing the last two dims.
memory::desc operand(const Tensor& t, bool transpose, int64_t batch) {
  const int64_t rows = t.size(-2), cols = t.size(-1);
  const int64_t batch_stride = t.dim() == 3 ? rows * cols : 0;
  memory::dims dims = transpose ? memory::dims{cols, rows} : memory::dims{rows, cols};
  memory::dims strides = transpose ? memory::dims{1, cols} : memory::dims{cols, 1};
  if (batch > 0) {
    dims.insert(dims.begin(), batch);
    strides.insert(strides.begin(), batch_stride);
  }
  return memory::desc(dims, memory::data_type::f32, strides);
}

// The operand as the primitive reads it: as it is in f32, a dense bf16 copy under Autocast.
memory::desc computed(const memory::desc& operand, bool bf16) {
  if (!bf16) return operand;
  return memory::desc(
      operand.dims(), memory::data_type::bf16,
      operand.dims().size() == 3 ? memory::format_tag::abc : memory::format_tag::ab);
}

// With a transposed right operand (every linear layer's weight) the matmul primitive repacks
// that operand on every call, which costs more than the product when the left one has few rows;
// sgemm keeps the lead up to 8 rows.
constexpr int64_t kFewRows = 8;

// c = op(a)·op(b) + bias + beta·c for plain 2-d f32 operands, on sgemm.
void run_sgemm(const Tensor& c, const Tensor& a, const Tensor& b, const Tensor& bias, bool trans_a,
               bool trans_b, float beta) {
  const int64_t m = c.size(0), n = c.size(1), k = trans_a ? a.size(0) : a.size(1);
  float* out = c.data<float>();
  if (bias.defined()) {
    // The bias rows join the accumulation: c = bias + beta·c first, then sgemm adds the product.
    const float* shift = bias.data<float>();
    for (int64_t row = 0; row < m; ++row)
      for (int64_t col = 0; col < n; ++col)
        out[row * n + col] = shift[col] + (beta == 0.0f ? 0.0f : beta * out[row * n + col]);
    beta = 1.0f;
  }
  const dnnl::status status =
      dnnl::sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, 1.0f, a.data<float>(),
                  a.size(1), b.data<float>(), b.size(1), beta, out, n);
  SOMA_CHECK(status == dnnl::status::success, "matmul: oneDNN's sgemm failed with status ",
             int(status));
}

void run_matmul(const Tensor& c, const Tensor& a, const Tensor& b, const Tensor& bias, bool trans_a,
                bool trans_b, float beta) {
  const int64_t batch = c.dim() == 3 ? c.size(0) : 0;
  const cpu::SerialWhenSmall serial(c.numel() * (trans_a ? a.size(-2) : a.size(-1)),
                                    cpu::kSmallMultiplyAdds);
  const bool bf16 = autocast_precision() == Precision::BF16;
  if (!bf16 && batch == 0 && c.size(0) <= kFewRows && a.numel() > 0)
    return run_sgemm(c, a, b, bias, trans_a, trans_b, beta);
  const memory::desc a_md = operand(a, trans_a, batch), b_md = operand(b, trans_b, batch);
  const memory::desc a_in = computed(a_md, bf16), b_in = computed(b_md, bf16);
  const memory::desc c_md = cpu::plain_f32(c.shape());
  memory::desc bias_md;
  if (bias.defined())
    bias_md = batch ? cpu::plain_f32({1, 1, bias.numel()}) : cpu::plain_f32({1, bias.numel()});

  cpu::Key key;
  key << "matmul" << a.shape() << b.shape() << c.shape() << int64_t(trans_a) << int64_t(trans_b)
      << int64_t(bias.defined()) << int64_t(beta * 1e6f) << int64_t(bf16);
  dnnl::primitive& primitive = cpu::cached(key, [&] {
    dnnl::primitive_attr attr;
    if (beta != 0.0f) {
      dnnl::post_ops ops;
      ops.append_sum(beta);
      attr.set_post_ops(ops);
    }
    dnnl::matmul::desc desc = bias.defined() ? dnnl::matmul::desc(a_in, b_in, bias_md, c_md)
                                             : dnnl::matmul::desc(a_in, b_in, c_md);
    return dnnl::matmul(dnnl::matmul::primitive_desc(desc, attr, cpu::engine()));
  });
  auto& engine = cpu::engine();
  cpu::Key a_key = key, b_key = key;
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, cpu::laid_out(a_in, a_md, a, a_key << "a")},
      {DNNL_ARG_WEIGHTS, cpu::laid_out(b_in, b_md, b, b_key << "b")},
      {DNNL_ARG_DST, memory(c_md, engine, c.raw_data())}};
  if (bias.defined()) args.emplace(DNNL_ARG_BIAS, memory(bias_md, engine, bias.raw_data()));
  primitive.execute(cpu::stream(), args);
  cpu::stream().wait();
}

}  // namespace

void CpuBackend::matmul(const Tensor& c, const Tensor& a, const Tensor& b, bool trans_a,
                        bool trans_b, float beta) {
  if (c.dtype() != DType::F32 || (c.dim() == 3 && b.dim() == 2) || c.numel() == 0)
    return ReferenceBackend::matmul(c, a, b, trans_a, trans_b, beta);
  run_matmul(c, a, b, Tensor(), trans_a, trans_b, beta);
}

void CpuBackend::linear_forward(const Tensor& y, const Tensor& x, const Tensor& w,
                                const Tensor& bias) {
  if (y.dtype() != DType::F32 || y.numel() == 0)
    return ReferenceBackend::linear_forward(y, x, w, bias);
  run_matmul(y, x, w, bias, false, true, 0.0f);
}

}  // namespace soma
