#pragma once
// Whole-file reading and crash-safe writing.
#include <string>
#include <string_view>

namespace soma::io {

// The bytes of a file; throws soma::Error naming the path when it cannot be read.
std::string read_file(const std::string& path);

// Writes `bytes` so that `path` holds either its old content or all of the new, never a part:
// a temporary file beside it, fsync, rename, fsync of the folder.
void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace soma::io
