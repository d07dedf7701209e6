#pragma once
// Element types. f32 is the compute type; f64 serves gradchecks on the reference backend;
// i64 holds labels and indices; u8 holds images; bf16 is storage for mixed precision.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace soma {

enum class DType : uint8_t { F32, F64, I64, U8, BF16 };

constexpr size_t size_of(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return 4;
    case DType::F64:
      return 8;
    case DType::I64:
      return 8;
    case DType::U8:
      return 1;
    case DType::BF16:
      return 2;
  }
  return 0;
}

constexpr std::string_view name_of(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return "f32";
    case DType::F64:
      return "f64";
    case DType::I64:
      return "i64";
    case DType::U8:
      return "u8";
    case DType::BF16:
      return "bf16";
  }
  return "?";
}

constexpr bool is_floating(DType dtype) {
  return dtype == DType::F32 || dtype == DType::F64 || dtype == DType::BF16;
}

// The DType of a C++ element type: dtype_of<float> == DType::F32.
template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::F32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::F64;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return DType::I64;
}
template <>
constexpr DType dtype_of<uint8_t>() {
  return DType::U8;
}

}  // namespace soma
