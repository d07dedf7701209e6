// Softmax and log-softmax over the last dim on oneDNN's softmax_v2 primitive.
#include "soma/backend/cpu/cpu_backend.h"
#include "soma/backend/cpu/dnnl_context.h"

namespace soma {
namespace {

using dnnl::algorithm;

// Rows × columns: softmax only cares about the last dim.
Shape as_rows(const Tensor& t) { return {t.numel() / t.size(-1), t.size(-1)}; }

dnnl::softmax_v2_forward::primitive_desc forward_desc(const dnnl::memory::desc& md, bool log) {
  return dnnl::softmax_v2_forward::primitive_desc(
      dnnl::softmax_v2_forward::desc(dnnl::prop_kind::forward_training,
                                     log ? algorithm::softmax_log : algorithm::softmax_accurate, md,
                                     md, 1),
      cpu::engine());
}

}  // namespace

void CpuBackend::softmax_forward(const Tensor& y, const Tensor& x, bool log) {
  if (x.dtype() != DType::F32 || x.numel() < kInlineBelow)
    return ReferenceBackend::softmax_forward(y, x, log);
  const cpu::SerialWhenSmall serial(x.numel(), cpu::kSmallElements);
  const Shape rows = as_rows(x);
  const dnnl::memory::desc md = cpu::plain_f32(rows);
  cpu::Key key;
  key << "softmax_fwd" << rows << int64_t(log);
  dnnl::primitive& primitive =
      cpu::cached(key, [&] { return dnnl::softmax_v2_forward(forward_desc(md, log)); });
  primitive.execute(cpu::stream(), {{DNNL_ARG_SRC, dnnl::memory(md, cpu::engine(), x.raw_data())},
                                    {DNNL_ARG_DST, dnnl::memory(md, cpu::engine(), y.raw_data())}});
  cpu::stream().wait();
}

void CpuBackend::softmax_backward(const Tensor& dx, const Tensor& dy, const Tensor& y, bool log) {
  if (y.dtype() != DType::F32 || y.numel() < kInlineBelow)
    return ReferenceBackend::softmax_backward(dx, dy, y, log);
  const cpu::SerialWhenSmall serial(y.numel(), cpu::kSmallElements);
  const Shape rows = as_rows(y);
  const dnnl::memory::desc md = cpu::plain_f32(rows);
  cpu::Key key;
  key << "softmax_bwd" << rows << int64_t(log);
  dnnl::primitive& primitive = cpu::cached(key, [&] {
    return dnnl::softmax_v2_backward(dnnl::softmax_v2_backward::primitive_desc(
        dnnl::softmax_v2_backward::desc(log ? algorithm::softmax_log : algorithm::softmax_accurate,
                                        md, md, md, 1),
        cpu::engine(), forward_desc(md, log)));
  });
  auto& engine = cpu::engine();
  execute_accumulating(primitive,
                       {{DNNL_ARG_DST, dnnl::memory(md, engine, y.raw_data())},
                        {DNNL_ARG_DIFF_DST, dnnl::memory(md, engine, dy.raw_data())}},
                       md, dx);
}

}  // namespace soma
