// Recurrent layers on oneDNN's RNN primitives: vanilla RNN, LSTM, and the linear-before-reset
// GRU, which is PyTorch's GRU. One primitive runs a whole layer, both directions at once
// (bidirectional_concat writes y as PyTorch does). Sequences and states stay in soma's layouts
// (tnc or ntc, ldnc); the weights, PyTorch's [G·H, C] rows (ldgoi to oneDNN), are reordered into
// whatever layout the primitive picks. Two things differ from PyTorch: oneDNN keeps one bias per
// gate (the sum of PyTorch's two) plus, for the GRU, the hidden-side candidate bias as a fourth;
// and its GRU gates come in the order z, r, n where PyTorch's are r, z, n.
#include <cstring>

#include "soma/backend/cpu/cpu_backend.h"
#include "soma/backend/cpu/dnnl_context.h"

namespace soma {
namespace {

using dnnl::memory;
using dnnl::prop_kind;
using Tag = memory::format_tag;

// The gate oneDNN keeps PyTorch's gate g of a cell at.
int64_t onednn_gate(RnnCell cell, int64_t g) { return cell == RnnCell::Gru && g < 2 ? 1 - g : g; }

// oneDNN's bias gates: the GRU keeps its hidden-side candidate bias apart.
int64_t bias_gates(RnnCell cell) { return cell == RnnCell::Gru ? 4 : gates_of(cell); }

// A layer's descriptors: soma's f32 tensors as they are (`x`, `y`, `state`, `w_ih`, `w_hh`,
// `bias`), and what the primitive reads and writes. Under Autocast it reads and writes the
// sequences, hidden states and weights in bf16 (oneDNN's bf16 RNN needs all of them so); cell
// states, biases and every gradient stay f32.
struct RnnDescs {
  RnnCell cell;
  dnnl::rnn_direction direction;
  memory::desc x, y, state, w_ih, w_hh, bias;
  memory::desc in_x, in_y, in_state, any_w_ih, any_w_hh, any_dw_ih, any_dw_hh;
  cpu::Key key;
};

RnnDescs descs_of(const RnnLayer& layer) {
  const Tensor& x = layer.x;
  const int64_t steps = layer.batch_first ? x.size(1) : x.size(0);
  const int64_t batch = layer.batch_first ? x.size(0) : x.size(1);
  const int64_t directions = layer.h0.size(0), hidden = layer.h0.size(2), input = x.size(2);
  const int64_t gates = gates_of(layer.cell);
  const bool bf16 = autocast_precision() == Precision::BF16;
  const auto f32 = memory::data_type::f32;
  const auto read = bf16 ? memory::data_type::bf16 : f32;
  const Tag sequence = layer.batch_first ? Tag::ntc : Tag::tnc;
  RnnDescs d;
  d.cell = layer.cell;
  d.direction = directions == 2 ? dnnl::rnn_direction::bidirectional_concat
                                : dnnl::rnn_direction::unidirectional_left2right;
  const memory::dims x_dims{steps, batch, input}, y_dims{steps, batch, directions * hidden};
  const memory::dims state_dims{1, directions, batch, hidden};
  d.x = memory::desc(x_dims, f32, sequence), d.in_x = memory::desc(x_dims, read, sequence);
  d.y = memory::desc(y_dims, f32, sequence), d.in_y = memory::desc(y_dims, read, sequence);
  d.state = memory::desc(state_dims, f32, Tag::ldnc);
  d.in_state = memory::desc(state_dims, read, Tag::ldnc);
  d.w_ih = memory::desc({1, directions, input, gates, hidden}, f32, Tag::ldgoi);
  d.w_hh = memory::desc({1, directions, hidden, gates, hidden}, f32, Tag::ldgoi);
  d.bias = memory::desc({1, directions, bias_gates(layer.cell), hidden}, f32, Tag::ldgo);
  d.any_w_ih = memory::desc(d.w_ih.dims(), read, Tag::any);
  d.any_w_hh = memory::desc(d.w_hh.dims(), read, Tag::any);
  d.any_dw_ih = memory::desc(d.w_ih.dims(), f32, Tag::any);
  d.any_dw_hh = memory::desc(d.w_hh.dims(), f32, Tag::any);
  d.key << "rnn" << int64_t(layer.cell) << int64_t(layer.batch_first) << steps << batch << input
        << hidden << directions << int64_t(bf16);
  return d;
}

dnnl::lstm_forward::primitive_desc lstm_forward_desc(const RnnDescs& d, prop_kind prop) {
  return {dnnl::lstm_forward::desc(prop, d.direction, d.in_x, d.in_state, d.state, d.any_w_ih,
                                   d.any_w_hh, d.bias, d.in_y, d.in_state, d.state),
          cpu::engine()};
}
dnnl::lbr_gru_forward::primitive_desc gru_forward_desc(const RnnDescs& d, prop_kind prop) {
  return {dnnl::lbr_gru_forward::desc(prop, d.direction, d.in_x, d.in_state, d.any_w_ih, d.any_w_hh,
                                      d.bias, d.in_y, d.in_state),
          cpu::engine()};
}
dnnl::algorithm activation_of(RnnCell cell) {
  return cell == RnnCell::Relu ? dnnl::algorithm::eltwise_relu : dnnl::algorithm::eltwise_tanh;
}
dnnl::vanilla_rnn_forward::primitive_desc vanilla_forward_desc(const RnnDescs& d, prop_kind prop) {
  return {
      dnnl::vanilla_rnn_forward::desc(prop, activation_of(d.cell), d.direction, d.in_x, d.in_state,
                                      d.any_w_ih, d.any_w_hh, d.bias, d.in_y, d.in_state),
      cpu::engine()};
}

dnnl::primitive make_forward(const RnnDescs& d, prop_kind prop) {
  switch (d.cell) {
    case RnnCell::Lstm:
      return dnnl::lstm_forward(lstm_forward_desc(d, prop));
    case RnnCell::Gru:
      return dnnl::lbr_gru_forward(gru_forward_desc(d, prop));
    default:
      return dnnl::vanilla_rnn_forward(vanilla_forward_desc(d, prop));
  }
}

dnnl::primitive make_backward(const RnnDescs& d) {
  const prop_kind training = prop_kind::forward_training, backward = prop_kind::backward;
  switch (d.cell) {
    case RnnCell::Lstm:
      return dnnl::lstm_backward(dnnl::lstm_backward::primitive_desc(
          dnnl::lstm_backward::desc(backward, d.direction, d.in_x, d.in_state, d.state, d.any_w_ih,
                                    d.any_w_hh, d.bias, d.in_y, d.in_state, d.state, d.x, d.state,
                                    d.state, d.any_dw_ih, d.any_dw_hh, d.bias, d.y, d.state,
                                    d.state),
          cpu::engine(), lstm_forward_desc(d, training)));
    case RnnCell::Gru:
      return dnnl::lbr_gru_backward(dnnl::lbr_gru_backward::primitive_desc(
          dnnl::lbr_gru_backward::desc(backward, d.direction, d.in_x, d.in_state, d.any_w_ih,
                                       d.any_w_hh, d.bias, d.in_y, d.in_state, d.x, d.state,
                                       d.any_dw_ih, d.any_dw_hh, d.bias, d.y, d.state),
          cpu::engine(), gru_forward_desc(d, training)));
    default:
      return dnnl::vanilla_rnn_backward(dnnl::vanilla_rnn_backward::primitive_desc(
          dnnl::vanilla_rnn_backward::desc(backward, activation_of(d.cell), d.direction, d.in_x,
                                           d.in_state, d.any_w_ih, d.any_w_hh, d.bias, d.in_y,
                                           d.in_state, d.x, d.state, d.any_dw_ih, d.any_dw_hh,
                                           d.bias, d.y, d.state),
          cpu::engine(), vanilla_forward_desc(d, training)));
  }
}

// w [D, G·H, X] with its gate blocks in oneDNN's order: w itself unless the cell is a GRU.
Tensor in_onednn_order(const Tensor& w, RnnCell cell) {
  if (cell != RnnCell::Gru) return w;
  Tensor copy = Tensor::empty(w.shape());
  const int64_t gates = gates_of(cell), block = w.numel() / (w.size(0) * gates);
  for (int64_t d = 0; d < w.size(0); ++d)
    for (int64_t g = 0; g < gates; ++g)
      std::memcpy(copy.data<float>() + (d * gates + onednn_gate(cell, g)) * block,
                  w.data<float>() + (d * gates + g) * block, size_t(block) * sizeof(float));
  return copy;
}

// grad [D, G·H, X] += from, whose gate blocks are in oneDNN's order.
void add_from_onednn_order(const Tensor& grad, const Tensor& from, RnnCell cell) {
  const int64_t gates = gates_of(cell), block = grad.numel() / (grad.size(0) * gates);
  for (int64_t d = 0; d < grad.size(0); ++d)
    for (int64_t g = 0; g < gates; ++g)
      add_into(grad.data<float>() + (d * gates + g) * block,
               from.data<float>() + (d * gates + onednn_gate(cell, g)) * block, block);
}

// oneDNN's bias [D, bias_gates, H] from PyTorch's two (zero without them).
Tensor onednn_bias(const RnnLayer& layer) {
  const int64_t directions = layer.h0.size(0), hidden = layer.h0.size(2);
  const int64_t gates = gates_of(layer.cell), slots = bias_gates(layer.cell);
  Tensor bias = Tensor::zeros({directions, slots, hidden});
  if (!layer.b_ih.defined()) return bias;
  for (int64_t d = 0; d < directions; ++d) {
    const float* b_ih = layer.b_ih.data<float>() + d * gates * hidden;
    const float* b_hh = layer.b_hh.data<float>() + d * gates * hidden;
    float* to = bias.data<float>() + d * slots * hidden;
    for (int64_t g = 0; g < gates; ++g) {
      const bool hidden_apart = layer.cell == RnnCell::Gru && g == 2;
      float* slot = to + onednn_gate(layer.cell, g) * hidden;
      for (int64_t u = 0; u < hidden; ++u)
        slot[u] = b_ih[g * hidden + u] + (hidden_apart ? 0.0f : b_hh[g * hidden + u]);
      if (hidden_apart) std::memcpy(to + 3 * hidden, b_hh + g * hidden, size_t(hidden) * 4);
    }
  }
  return bias;
}

// PyTorch's two bias gradients += oneDNN's one [D, bias_gates, H].
void add_bias_grads(const RnnGrads& grads, const Tensor& dbias, RnnCell cell) {
  const int64_t directions = dbias.size(0), slots = dbias.size(1), hidden = dbias.size(2);
  const int64_t gates = gates_of(cell);
  for (int64_t d = 0; d < directions; ++d) {
    const float* from = dbias.data<float>() + d * slots * hidden;
    for (int64_t g = 0; g < gates; ++g) {
      const float* slot = from + onednn_gate(cell, g) * hidden;
      const float* hidden_slot = cell == RnnCell::Gru && g == 2 ? from + 3 * hidden : slot;
      const int64_t at = (d * gates + g) * hidden;
      if (grads.b_ih.defined()) add_into(grads.b_ih.data<float>() + at, slot, hidden);
      if (grads.b_hh.defined()) add_into(grads.b_hh.data<float>() + at, hidden_slot, hidden);
    }
  }
}

memory plain(const memory::desc& md, const Tensor& t) {
  return memory(md, cpu::engine(), t.raw_data());
}

// `t` (laid out as `plain`) as the primitive reads it (`wanted`: its layout and precision).
memory read(const memory::desc& wanted, const memory::desc& plain, const Tensor& t,
            const cpu::Key& key, const char* what) {
  return cpu::laid_out(wanted, plain, t, cpu::Key(key) << what);
}

// A layer's weights and bias as oneDNN takes them (see in_onednn_order and onednn_bias).
struct OnednnWeights {
  Tensor w_ih, w_hh, bias;
};

OnednnWeights onednn_weights(const RnnLayer& layer) {
  return {in_onednn_order(layer.w_ih, layer.cell), in_onednn_order(layer.w_hh, layer.cell),
          onednn_bias(layer)};
}

// What every pass reads: the sequence, the initial states, the weights and the bias, as
// `primitive` wants them.
std::unordered_map<int, memory> layer_args(const dnnl::primitive& primitive, const RnnDescs& d,
                                           const RnnLayer& layer, const OnednnWeights& w,
                                           const cpu::Key& key) {
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC_LAYER, read(d.in_x, d.x, layer.x, key, "x")},
      {DNNL_ARG_SRC_ITER, read(d.in_state, d.state, layer.h0, key, "h0")},
      {DNNL_ARG_WEIGHTS_LAYER,
       read(cpu::queried(primitive, dnnl::query::weights_md), d.w_ih, w.w_ih, key, "w_ih")},
      {DNNL_ARG_WEIGHTS_ITER,
       read(cpu::queried(primitive, dnnl::query::weights_md, 1), d.w_hh, w.w_hh, key, "w_hh")},
      {DNNL_ARG_BIAS, plain(d.bias, w.bias)}};
  if (layer.cell == RnnCell::Lstm) args.emplace(DNNL_ARG_SRC_ITER_C, plain(d.state, layer.c0));
  return args;
}

// A layer's products: every step multiplies its input and hidden state by the weights.
int64_t multiply_adds(const RnnLayer& layer) {
  return layer.x.numel() / layer.x.size(-1) * (layer.w_ih.numel() + layer.w_hh.numel());
}

bool runs_on_onednn(const RnnLayer& layer) {
  return layer.x.dtype() == DType::F32 && layer.x.numel() > 0;
}

}  // namespace

Tensor CpuBackend::rnn_forward(const RnnStates& out, const RnnLayer& layer, bool training) {
  if (!runs_on_onednn(layer)) return ReferenceBackend::rnn_forward(out, layer, training);
  const cpu::SerialWhenSmall serial(multiply_adds(layer), cpu::kSmallMultiplyAdds);
  const RnnDescs d = descs_of(layer);
  const prop_kind prop = training ? prop_kind::forward_training : prop_kind::forward_inference;
  // One key per pass: inference and training primitives may want the weights laid out apart.
  const cpu::Key key = cpu::Key(d.key) << (training ? "fwd_training" : "fwd");
  dnnl::primitive& primitive = cpu::cached(key, [&] { return make_forward(d, prop); });
  const OnednnWeights weights = onednn_weights(layer);
  std::unordered_map<int, memory> args = layer_args(primitive, d, layer, weights, key);
  cpu::LaidOutOutput y(d.in_y, d.y, out.y, 0.0f, cpu::Key(key) << "y");
  cpu::LaidOutOutput h_n(d.in_state, d.state, out.h_n, 0.0f, cpu::Key(key) << "h_n");
  args.emplace(DNNL_ARG_DST_LAYER, y.memory());
  args.emplace(DNNL_ARG_DST_ITER, h_n.memory());
  if (layer.cell == RnnCell::Lstm) args.emplace(DNNL_ARG_DST_ITER_C, plain(d.state, out.c_n));
  Tensor workspace;
  if (training) {
    const memory::desc ws_md = cpu::queried(primitive, dnnl::query::workspace_md);
    workspace = Tensor::empty({int64_t(ws_md.get_size())}, DType::U8);
    args.emplace(DNNL_ARG_WORKSPACE, memory(ws_md, cpu::engine(), workspace.raw_data()));
  }
  primitive.execute(cpu::stream(), args);
  y.finish();
  h_n.finish();
  cpu::stream().wait();
  return workspace;
}

// The primitive overwrites the data and state gradients and adds into the weight and bias ones,
// so all of them are computed into fresh buffers and then added to soma's gradients.
void CpuBackend::rnn_backward(const RnnGrads& grads, const RnnStates& d_out, const RnnLayer& layer,
                              const RnnStates& out, const Tensor& workspace) {
  if (!runs_on_onednn(layer))
    return ReferenceBackend::rnn_backward(grads, d_out, layer, out, workspace);
  const cpu::SerialWhenSmall serial(multiply_adds(layer), cpu::kSmallMultiplyAdds);
  const RnnDescs d = descs_of(layer);
  const cpu::Key key = cpu::Key(d.key) << "bwd";
  dnnl::primitive& primitive = cpu::cached(key, [&] { return make_backward(d); });
  const OnednnWeights weights = onednn_weights(layer);
  const Tensor dx = Tensor::empty(layer.x.shape()), dh0 = Tensor::empty(layer.h0.shape());
  const Tensor dc0 = layer.cell == RnnCell::Lstm ? Tensor::empty(layer.h0.shape()) : Tensor();
  const Tensor dw_ih = Tensor::empty(layer.w_ih.shape()), dw_hh = Tensor::empty(layer.w_hh.shape());
  const Tensor dbias = Tensor::zeros(weights.bias.shape());
  auto& engine = cpu::engine();
  // The weight gradients in the primitive's layouts start at zero: it adds into them.
  cpu::LaidOutOutput dw_ih_out(cpu::queried(primitive, dnnl::query::diff_weights_md), d.w_ih, dw_ih,
                               0.0f, cpu::Key(key) << "dw_ih");
  cpu::LaidOutOutput dw_hh_out(cpu::queried(primitive, dnnl::query::diff_weights_md, 1), d.w_hh,
                               dw_hh, 0.0f, cpu::Key(key) << "dw_hh");
  for (cpu::LaidOutOutput* out : {&dw_ih_out, &dw_hh_out})
    std::memset(out->memory().get_data_handle(), 0, out->memory().get_desc().get_size());
  std::unordered_map<int, memory> args = layer_args(primitive, d, layer, weights, key);
  args.insert({{DNNL_ARG_DST_LAYER, read(d.in_y, d.y, out.y, key, "y")},
               {DNNL_ARG_DST_ITER, read(d.in_state, d.state, out.h_n, key, "h_n")},
               {DNNL_ARG_DIFF_SRC_LAYER, plain(d.x, dx)},
               {DNNL_ARG_DIFF_SRC_ITER, plain(d.state, dh0)},
               {DNNL_ARG_DIFF_WEIGHTS_LAYER, dw_ih_out.memory()},
               {DNNL_ARG_DIFF_WEIGHTS_ITER, dw_hh_out.memory()},
               {DNNL_ARG_DIFF_BIAS, plain(d.bias, dbias)},
               {DNNL_ARG_DIFF_DST_LAYER, plain(d.y, d_out.y)},
               {DNNL_ARG_DIFF_DST_ITER, plain(d.state, d_out.h_n)},
               {DNNL_ARG_WORKSPACE, memory(cpu::queried(primitive, dnnl::query::workspace_md),
                                           engine, workspace.raw_data())}});
  if (layer.cell == RnnCell::Lstm) {
    args.emplace(DNNL_ARG_DST_ITER_C, plain(d.state, out.c_n));
    args.emplace(DNNL_ARG_DIFF_SRC_ITER_C, plain(d.state, dc0));
    args.emplace(DNNL_ARG_DIFF_DST_ITER_C, plain(d.state, d_out.c_n));
  }
  primitive.execute(cpu::stream(), args);
  dw_ih_out.finish();
  dw_hh_out.finish();
  cpu::stream().wait();
  if (grads.x.defined()) add_into(grads.x.data<float>(), dx.data<float>(), dx.numel());
  if (grads.h0.defined()) add_into(grads.h0.data<float>(), dh0.data<float>(), dh0.numel());
  if (grads.c0.defined()) add_into(grads.c0.data<float>(), dc0.data<float>(), dc0.numel());
  if (grads.w_ih.defined()) add_from_onednn_order(grads.w_ih, dw_ih, layer.cell);
  if (grads.w_hh.defined()) add_from_onednn_order(grads.w_hh, dw_hh, layer.cell);
  add_bias_grads(grads, dbias, layer.cell);
}

}  // namespace soma
