#include "soma/backend/backend.h"

#include <dnnl.hpp>

namespace soma {
namespace {
thread_local Backend* current = nullptr;
thread_local Precision precision = Precision::F32;
}  // namespace

Backend& backend() { return current ? *current : cpu_backend(); }

BackendGuard::BackendGuard(Backend& chosen) : previous_(current) { current = &chosen; }
BackendGuard::~BackendGuard() { current = previous_; }

int64_t gates_of(RnnCell cell) {
  switch (cell) {
    case RnnCell::Lstm:
      return 4;
    case RnnCell::Gru:
      return 3;
    default:
      return 1;
  }
}

Precision autocast_precision() { return precision; }

bool bf16_supported() {
  static const bool supported = [] {
    const auto isa = unsigned(dnnl::get_effective_cpu_isa());
    const auto avx512 = unsigned(dnnl::cpu_isa::avx512_core);
    return (isa & avx512) == avx512;
  }();
  return supported;
}

Autocast::Autocast(Precision chosen) : previous_(precision) {
  precision = chosen == Precision::BF16 && !bf16_supported() ? Precision::F32 : chosen;
}
Autocast::~Autocast() { precision = previous_; }

}  // namespace soma
