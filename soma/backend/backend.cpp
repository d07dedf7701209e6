#include "soma/backend/backend.h"

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

Autocast::Autocast(Precision chosen) : previous_(precision) { precision = chosen; }
Autocast::~Autocast() { precision = previous_; }

}  // namespace soma
