// Recurrent layers as their equations read: one step at a time for each direction and batch item,
// in double precision. The workspace keeps every step's activated gates (and an LSTM's cell state,
// a GRU's hidden part of the candidate gate), which back-propagation through time reads back.
#include <algorithm>
#include <cmath>
#include <vector>

#include "soma/backend/reference/reference_backend.h"

namespace soma {
namespace {

double sigmoid(double v) { return 1 / (1 + std::exp(-v)); }

// A layer's sizes and where its tensors keep each step.
struct Dims {
  RnnCell cell;
  int64_t steps, batch, input, hidden, directions, gates;
  bool batch_first;

  // Row of (time t, batch item n) in x and y.
  int64_t row(int64_t t, int64_t n) const { return batch_first ? n * steps + t : t * batch + n; }
  // The time direction d reads at its step s.
  int64_t time(int64_t d, int64_t s) const { return d == 0 ? s : steps - 1 - s; }
  // Values the workspace keeps per (direction, step, batch item).
  int64_t record() const {
    return gates * hidden + (cell == RnnCell::Lstm || cell == RnnCell::Gru ? hidden : 0);
  }
  int64_t record_at(int64_t d, int64_t s, int64_t n) const {
    return ((d * steps + s) * batch + n) * record();
  }
};

Dims dims_of(const RnnLayer& layer) {
  const Tensor& x = layer.x;
  return {layer.cell,
          layer.batch_first ? x.size(1) : x.size(0),
          layer.batch_first ? x.size(0) : x.size(1),
          x.size(2),
          layer.h0.size(2),
          layer.h0.size(0),
          gates_of(layer.cell),
          layer.batch_first};
}

// The tensor's data from `offset` on, or null for an undefined (optional) tensor.
template <class T>
T* data_or_null(const Tensor& t, int64_t offset) {
  return t.defined() ? t.data<T>() + offset : nullptr;
}

}  // namespace

Tensor ReferenceBackend::rnn_forward(const RnnStates& out, const RnnLayer& layer, bool) {
  const Dims k = dims_of(layer);
  const int64_t H = k.hidden, C = k.input, GH = k.gates * H, DH = k.directions * H;
  Tensor workspace = Tensor::empty({k.directions, k.steps, k.batch, k.record()}, layer.x.dtype());
  dispatch_floating(layer.x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = layer.x.data<T>();
    T* y = out.y.data<T>();
    T* ws = workspace.data<T>();
    std::vector<double> pre_x(static_cast<size_t>(GH)), pre_h(static_cast<size_t>(GH));
    for (int64_t d = 0; d < k.directions; ++d) {
      const T* w_ih = layer.w_ih.data<T>() + d * GH * C;
      const T* w_hh = layer.w_hh.data<T>() + d * GH * H;
      const T* b_ih = data_or_null<T>(layer.b_ih, d * GH);
      const T* b_hh = data_or_null<T>(layer.b_hh, d * GH);
      std::vector<double> h(layer.h0.data<T>() + d * k.batch * H,
                            layer.h0.data<T>() + (d + 1) * k.batch * H);
      std::vector<double> c(static_cast<size_t>(k.batch * H));
      if (k.cell == RnnCell::Lstm)
        std::copy_n(layer.c0.data<T>() + d * k.batch * H, k.batch * H, c.begin());
      for (int64_t s = 0; s < k.steps; ++s) {
        const int64_t t = k.time(d, s);
        for (int64_t n = 0; n < k.batch; ++n) {
          const T* xt = x + k.row(t, n) * C;
          double* hn = h.data() + n * H;
          double* cn = c.data() + n * H;
          for (int64_t j = 0; j < GH; ++j) {
            double from_x = b_ih ? b_ih[j] : 0, from_h = b_hh ? b_hh[j] : 0;
            for (int64_t i = 0; i < C; ++i) from_x += double(w_ih[j * C + i]) * xt[i];
            for (int64_t i = 0; i < H; ++i) from_h += double(w_hh[j * H + i]) * hn[i];
            pre_x[size_t(j)] = from_x, pre_h[size_t(j)] = from_h;
          }
          T* rec = ws + k.record_at(d, s, n);
          for (int64_t u = 0; u < H; ++u) {
            auto pre = [&](int64_t gate) { return pre_x[gate * H + u] + pre_h[gate * H + u]; };
            switch (k.cell) {
              case RnnCell::Tanh:
                hn[u] = std::tanh(pre(0)), rec[u] = T(hn[u]);
                break;
              case RnnCell::Relu:
                hn[u] = std::max(pre(0), 0.0), rec[u] = T(hn[u]);
                break;
              case RnnCell::Lstm: {
                const double i = sigmoid(pre(0)), f = sigmoid(pre(1)), g = std::tanh(pre(2)),
                             o = sigmoid(pre(3));
                cn[u] = f * cn[u] + i * g;
                hn[u] = o * std::tanh(cn[u]);
                rec[u] = T(i), rec[H + u] = T(f), rec[2 * H + u] = T(g), rec[3 * H + u] = T(o);
                rec[4 * H + u] = T(cn[u]);
                break;
              }
              case RnnCell::Gru: {
                const double r = sigmoid(pre(0)), z = sigmoid(pre(1)),
                             hidden_part = pre_h[2 * H + u];
                const double candidate = std::tanh(pre_x[2 * H + u] + r * hidden_part);
                hn[u] = (1 - z) * candidate + z * hn[u];
                rec[u] = T(r), rec[H + u] = T(z), rec[2 * H + u] = T(candidate);
                rec[3 * H + u] = T(hidden_part);
                break;
              }
            }
            y[k.row(t, n) * DH + d * H + u] = T(hn[u]);
          }
        }
      }
      std::copy(h.begin(), h.end(), out.h_n.data<T>() + d * k.batch * H);
      if (k.cell == RnnCell::Lstm)
        std::copy(c.begin(), c.end(), out.c_n.data<T>() + d * k.batch * H);
    }
  });
  return workspace;
}

// Back-propagation through time, each direction from its last step to its first. dgate_x is the
// gradient of the gates' input-side pre-activations, dgate_h of their hidden-side ones; they
// differ only in a GRU's candidate gate, where the reset gate scales the hidden side.
void ReferenceBackend::rnn_backward(const RnnGrads& grads, const RnnStates& d_out,
                                    const RnnLayer& layer, const RnnStates& out,
                                    const Tensor& workspace) {
  const Dims k = dims_of(layer);
  const int64_t H = k.hidden, C = k.input, GH = k.gates * H, DH = k.directions * H;
  dispatch_floating(layer.x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = layer.x.data<T>();
    const T* y = out.y.data<T>();
    const T* dy = d_out.y.data<T>();
    const T* ws = workspace.data<T>();
    std::vector<double> dgate_x(static_cast<size_t>(GH)), dgate_h(static_cast<size_t>(GH));
    std::vector<double> dh_direct(static_cast<size_t>(H));
    for (int64_t d = 0; d < k.directions; ++d) {
      const int64_t state = d * k.batch * H;
      const T* w_ih = layer.w_ih.data<T>() + d * GH * C;
      const T* w_hh = layer.w_hh.data<T>() + d * GH * H;
      T* dx = data_or_null<T>(grads.x, 0);
      T* dw_ih = data_or_null<T>(grads.w_ih, d * GH * C);
      T* dw_hh = data_or_null<T>(grads.w_hh, d * GH * H);
      T* db_ih = data_or_null<T>(grads.b_ih, d * GH);
      T* db_hh = data_or_null<T>(grads.b_hh, d * GH);
      std::vector<double> dh(d_out.h_n.data<T>() + state,
                             d_out.h_n.data<T>() + state + k.batch * H);
      std::vector<double> dc(static_cast<size_t>(k.batch * H));
      if (k.cell == RnnCell::Lstm)
        std::copy_n(d_out.c_n.data<T>() + state, k.batch * H, dc.begin());
      for (int64_t s = k.steps - 1; s >= 0; --s) {
        const int64_t t = k.time(d, s);
        for (int64_t n = 0; n < k.batch; ++n) {
          const T* rec = ws + k.record_at(d, s, n);
          const T* h_prev = s == 0 ? layer.h0.data<T>() + state + n * H
                                   : y + k.row(k.time(d, s - 1), n) * DH + d * H;
          const T* c_prev = k.cell != RnnCell::Lstm ? nullptr
                            : s == 0                ? layer.c0.data<T>() + state + n * H
                                                    : ws + k.record_at(d, s - 1, n) + 4 * H;
          double* dhn = dh.data() + n * H;
          double* dcn = dc.data() + n * H;
          for (int64_t u = 0; u < H; ++u) {
            const double dh_total = dhn[u] + dy[k.row(t, n) * DH + d * H + u];
            dh_direct[size_t(u)] = 0;
            switch (k.cell) {
              case RnnCell::Tanh:
                dgate_x[u] = dh_total * (1 - double(rec[u]) * rec[u]);
                break;
              case RnnCell::Relu:
                dgate_x[u] = rec[u] > 0 ? dh_total : 0;
                break;
              case RnnCell::Lstm: {
                const double i = rec[u], f = rec[H + u], g = rec[2 * H + u], o = rec[3 * H + u];
                const double tanh_c = std::tanh(double(rec[4 * H + u]));
                const double dcell = dcn[u] + dh_total * o * (1 - tanh_c * tanh_c);
                dgate_x[u] = dcell * g * i * (1 - i);
                dgate_x[H + u] = dcell * c_prev[u] * f * (1 - f);
                dgate_x[2 * H + u] = dcell * i * (1 - g * g);
                dgate_x[3 * H + u] = dh_total * tanh_c * o * (1 - o);
                dcn[u] = dcell * f;
                break;
              }
              case RnnCell::Gru: {
                const double r = rec[u], z = rec[H + u], candidate = rec[2 * H + u],
                             hidden_part = rec[3 * H + u];
                const double dcandidate = dh_total * (1 - z) * (1 - candidate * candidate);
                dgate_x[u] = dcandidate * hidden_part * r * (1 - r);
                dgate_x[H + u] = dh_total * (h_prev[u] - candidate) * z * (1 - z);
                dgate_x[2 * H + u] = dcandidate;
                dgate_h[2 * H + u] = dcandidate * r;
                dh_direct[size_t(u)] = dh_total * z;
                break;
              }
            }
          }
          const int64_t same = k.cell == RnnCell::Gru ? 2 * H : GH;
          std::copy_n(dgate_x.begin(), same, dgate_h.begin());
          const T* xt = x + k.row(t, n) * C;
          for (int64_t j = 0; j < GH; ++j) {
            const double gx = dgate_x[size_t(j)], gh = dgate_h[size_t(j)];
            if (dx)
              for (int64_t i = 0; i < C; ++i) dx[k.row(t, n) * C + i] += T(gx * w_ih[j * C + i]);
            if (dw_ih)
              for (int64_t i = 0; i < C; ++i) dw_ih[j * C + i] += T(gx * xt[i]);
            if (dw_hh)
              for (int64_t i = 0; i < H; ++i) dw_hh[j * H + i] += T(gh * h_prev[i]);
            if (db_ih) db_ih[j] += T(gx);
            if (db_hh) db_hh[j] += T(gh);
          }
          for (int64_t i = 0; i < H; ++i) {
            double through = dh_direct[size_t(i)];
            for (int64_t j = 0; j < GH; ++j) through += dgate_h[size_t(j)] * w_hh[j * H + i];
            dhn[i] = through;
          }
        }
      }
      if (grads.h0.defined()) {
        T* dh0 = grads.h0.data<T>() + state;
        for (int64_t i = 0; i < k.batch * H; ++i) dh0[i] += T(dh[size_t(i)]);
      }
      if (grads.c0.defined()) {
        T* dc0 = grads.c0.data<T>() + state;
        for (int64_t i = 0; i < k.batch * H; ++i) dc0[i] += T(dc[size_t(i)]);
      }
    }
  });
}

}  // namespace soma
