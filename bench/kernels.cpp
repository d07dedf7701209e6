// Microbenchmarks (Google Benchmark) of the kernels under soma's ops, each reporting the rate it
// reaches: GFLOP/s for the compute-bound ones (matmul, convolution, LSTM), GB/s of memory traffic
// for the bandwidth-bound ones (elementwise, softmax). FmaPeak is the machine's fp32 peak, the
// yardstick of the others: an AVX-512 (or AVX2) fused multiply-add loop on every thread.
//
//   soma_kernels [--benchmark_filter=REGEX] [--benchmark_format=json]
//
// Ops run forward without a graph unless the name says Train (forward and backward). "Bf16" runs
// the op under Autocast, converting its f32 operands as a model's step does.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <optional>

#include "soma/soma.h"

using namespace soma;

namespace {

// Independent accumulators enough to cover the FMA latency on two ports (4 cycles × 2).
constexpr int kChains = 16;
constexpr int64_t kFmaRounds = 1 << 20;

template <class Vec>
double fma_chains(float seed) {
  Vec acc[kChains];
  Vec mul, add;
  for (int l = 0; l < int(sizeof(Vec) / sizeof(float)); ++l) mul[l] = 0.999999f, add[l] = 1e-7f;
  for (int c = 0; c < kChains; ++c)
    for (int l = 0; l < int(sizeof(Vec) / sizeof(float)); ++l) acc[c][l] = seed + float(c);
  for (int64_t r = 0; r < kFmaRounds; ++r)
    for (int c = 0; c < kChains; ++c) acc[c] = acc[c] * mul + add;
  double sum = 0;  // consumed, so the loop stays
  for (int c = 0; c < kChains; ++c) sum += double(acc[c][0]);
  return sum;
}

typedef float V16 __attribute__((vector_size(64)));
typedef float V8 __attribute__((vector_size(32)));

__attribute__((target("avx512f"))) double fma_avx512(float seed) { return fma_chains<V16>(seed); }
__attribute__((target("avx2,fma"))) double fma_avx2(float seed) { return fma_chains<V8>(seed); }

// The floating-point operations one thread's fma loop performs.
int64_t fma_flops(bool avx512) { return kFmaRounds * kChains * 2 * (avx512 ? 16 : 8); }

void FmaPeak(benchmark::State& state) {
  const int threads = int(state.range(0));
  const bool avx512 = __builtin_cpu_supports("avx512f");
  double sink = 0;
  for (auto _ : state) {
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += avx512 ? fma_avx512(float(omp_get_thread_num())) : fma_avx2(1.f);
  }
  benchmark::DoNotOptimize(sink);
  state.SetLabel(avx512 ? "avx512" : "avx2");
  state.counters["GFLOP/s"] = benchmark::Counter(double(fma_flops(avx512)) * threads * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(FmaPeak)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

void set_rate(benchmark::State& state, const char* name, double per_iteration) {
  state.counters[name] =
      benchmark::Counter(per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

Precision precision_of(benchmark::State& state, int index) {
  return state.range(index) ? Precision::BF16 : Precision::F32;
}

// [n, n] × [n, n].
void Matmul(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Autocast autocast(precision_of(state, 1));
  const autograd::NoGradGuard no_grad;
  const Tensor a = Tensor::randn({n, n}), b = Tensor::randn({n, n});
  for (auto _ : state) benchmark::DoNotOptimize(matmul(a, b));
  set_rate(state, "GFLOP/s", 2.0 * n * n * n);
}
BENCHMARK(Matmul)->ArgsProduct({{256, 512, 1024}, {0, 1}})->ArgNames({"n", "bf16"})->UseRealTime();

// A 3×3 convolution, padding 1, of the CIFAR cnn's shapes: batch 128, `channels` in and out, at
// `size`×`size`.
struct ConvShape {
  int64_t batch = 128, channels, size;
  double flops() const { return 2.0 * batch * channels * channels * 9 * size * size; }
};

ConvShape conv_shape(benchmark::State& state) { return {128, state.range(0), state.range(1)}; }

void Conv3x3(benchmark::State& state) {
  const ConvShape s = conv_shape(state);
  const Autocast autocast(precision_of(state, 2));
  const autograd::NoGradGuard no_grad;
  const Tensor x = Tensor::randn({s.batch, s.channels, s.size, s.size});
  const Tensor w = Tensor::randn({s.channels, s.channels, 3, 3});
  for (auto _ : state) benchmark::DoNotOptimize(conv2d(x, w, Tensor(), {.padding = {1, 1}}));
  set_rate(state, "GFLOP/s", s.flops());
}

void Conv3x3Train(benchmark::State& state) {
  const ConvShape s = conv_shape(state);
  const Autocast autocast(precision_of(state, 2));
  const Tensor x = Tensor::randn({s.batch, s.channels, s.size, s.size}).requires_grad_(true);
  const Tensor w = Tensor::randn({s.channels, s.channels, 3, 3}).requires_grad_(true);
  for (auto _ : state) {
    conv2d(x, w, Tensor(), {.padding = {1, 1}}).sum().backward();
    x.set_grad(Tensor()), w.set_grad(Tensor());
  }
  set_rate(state, "GFLOP/s", 3 * s.flops());  // forward, input gradient, weight gradient
}
BENCHMARK(Conv3x3)
    ->ArgsProduct({{64}, {32}, {0, 1}})
    ->Args({256, 8, 0})
    ->Args({256, 8, 1})
    ->ArgNames({"channels", "size", "bf16"})
    ->UseRealTime();
BENCHMARK(Conv3x3Train)
    ->ArgsProduct({{64}, {32}, {0, 1}})
    ->Args({256, 8, 0})
    ->Args({256, 8, 1})
    ->ArgNames({"channels", "size", "bf16"})
    ->UseRealTime();

// Elementwise activations over 16 Mi floats: one read and one write per element.
template <Tensor (*Op)(const Tensor&)>
void Eltwise(benchmark::State& state) {
  const autograd::NoGradGuard no_grad;
  const Tensor x = Tensor::randn({int64_t(1) << 24});
  for (auto _ : state) benchmark::DoNotOptimize(Op(x));
  set_rate(state, "GB/s", 2.0 * x.numel() * sizeof(float));
}
BENCHMARK(Eltwise<relu>)->Name("Relu")->UseRealTime();
BENCHMARK(Eltwise<gelu>)->Name("Gelu")->UseRealTime();
BENCHMARK(Eltwise<sigmoid>)->Name("Sigmoid")->UseRealTime();

// Softmax over rows of `classes`, 4 Mi floats in all.
void Softmax(benchmark::State& state) {
  const int64_t classes = state.range(0);
  const autograd::NoGradGuard no_grad;
  const Tensor x = Tensor::randn({(int64_t(1) << 22) / classes, classes});
  for (auto _ : state) benchmark::DoNotOptimize(softmax(x));
  set_rate(state, "GB/s", 2.0 * x.numel() * sizeof(float));
}
BENCHMARK(Softmax)->Arg(10)->Arg(1000)->ArgName("classes")->UseRealTime();

// An LSTM layer of the lstm workload (input 64, hidden 256, batch 64) over `steps` time steps;
// one step is the LSTM cell. 2·4H·(I + H) FLOPs per step and sequence forward, twice that back.
void Lstm(benchmark::State& state, bool train) {
  const int64_t steps = state.range(0), batch = 64, input = 64, hidden = 256;
  const Autocast autocast(precision_of(state, 1));
  auto parameter = [&](const Shape& shape) { return Tensor::randn(shape).requires_grad_(train); };
  RnnLayer layer;  // zero initial states
  layer.x = parameter({steps, batch, input});
  layer.w_ih = parameter({1, 4 * hidden, input}), layer.w_hh = parameter({1, 4 * hidden, hidden});
  layer.b_ih = parameter({1, 4 * hidden}), layer.b_hh = parameter({1, 4 * hidden});
  std::optional<autograd::NoGradGuard> no_grad;
  if (!train) no_grad.emplace();
  for (auto _ : state) {
    const RnnResult result = rnn_layer(layer);
    if (train) {
      result.output.sum().backward();
      for (const Tensor& t : {layer.x, layer.w_ih, layer.w_hh, layer.b_ih, layer.b_hh})
        t.set_grad(Tensor());
    }
    benchmark::DoNotOptimize(result.output);
  }
  const double flops = 2.0 * steps * batch * 4 * hidden * (input + hidden);
  set_rate(state, "GFLOP/s", train ? 3 * flops : flops);
}
void LstmForward(benchmark::State& state) { Lstm(state, false); }
void LstmTrain(benchmark::State& state) { Lstm(state, true); }
BENCHMARK(LstmForward)->ArgsProduct({{1, 64}, {0, 1}})->ArgNames({"steps", "bf16"})->UseRealTime();
BENCHMARK(LstmTrain)->ArgsProduct({{64}, {0, 1}})->ArgNames({"steps", "bf16"})->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
