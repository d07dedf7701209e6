#pragma once
// The IDX format of MNIST and Fashion-MNIST: a big-endian header (magic with type and rank, then
// the extents) and the raw values. Files may be gzip-compressed; both are read.
#include <string>
#include <string_view>

#include "soma/core/tensor.h"

namespace soma::data {

// Reads an unsigned-byte IDX file (raw or .gz) into a u8 tensor of the header's shape. Throws
// soma::Error naming the file for a wrong magic, a truncated or over-long body, or a corrupt
// gzip stream.
Tensor read_idx(const std::string& path);

// The bytes of an IDX file (already decompressed); `path` names it in errors.
Tensor parse_idx(std::string_view bytes, const std::string& path);

// The whole file, decompressed when it starts with the gzip magic.
std::string read_maybe_gzipped(const std::string& path);
// `bytes` decompressed when they start with the gzip magic, else as they are; `path` names
// them in errors (a truncated or corrupt stream).
std::string maybe_gunzip(std::string bytes, const std::string& path);

}  // namespace soma::data
