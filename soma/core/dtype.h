#pragma once
// Element types. f32 is the compute type; f64 serves gradchecks on the reference backend;
// i64 holds labels and indices; u8 holds images; bf16 is storage for mixed precision.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace soma {

// bfloat16: the top 16 bits of an IEEE float (8-bit exponent, 7-bit mantissa). Conversion from
// float rounds to nearest even, as oneDNN and PyTorch do; NaN stays NaN.
struct bfloat16 {
  uint16_t bits = 0;
  bfloat16() = default;
  bfloat16(float value) {  // NOLINT: converts implicitly, as a number type should
    uint32_t word;
    std::memcpy(&word, &value, 4);
    if ((word & 0x7fffffffu) > 0x7f800000u) {
      bits = uint16_t((word >> 16) | 0x40);  // quiet NaN
      return;
    }
    word += 0x7fffu + ((word >> 16) & 1u);
    bits = uint16_t(word >> 16);
  }
  operator float() const {  // NOLINT
    const uint32_t word = uint32_t(bits) << 16;
    float value;
    std::memcpy(&value, &word, 4);
    return value;
  }
};

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
template <>
constexpr DType dtype_of<bfloat16>() {
  return DType::BF16;
}

}  // namespace soma
