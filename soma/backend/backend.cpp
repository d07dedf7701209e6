#include "soma/backend/backend.h"

namespace soma {
namespace {
thread_local Backend* current = nullptr;
}

Backend& backend() { return current ? *current : cpu_backend(); }

BackendGuard::BackendGuard(Backend& chosen) : previous_(current) { current = &chosen; }
BackendGuard::~BackendGuard() { current = previous_; }

}  // namespace soma
