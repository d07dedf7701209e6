#pragma once
// SHA-256 digests (OpenSSL) as lowercase hex, for verifying downloads and datasets.
#include <string>
#include <string_view>

namespace soma::io {

std::string sha256_hex(std::string_view bytes);

// The digest of a file, read in chunks; throws soma::Error when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace soma::io
