#pragma once
// Fetching a file from a URL (libcurl: http, https, ftp, file) or a local path.
#include <cstdint>
#include <functional>
#include <string>

namespace soma::io {

// Called as bytes arrive: done so far and the total (0 while unknown).
using Progress = std::function<void(int64_t done, int64_t total)>;

// Writes the resource at `source` (a URL with a scheme, else a local path) to `destination`,
// replacing it. Throws soma::Error naming the source for a network, HTTP (4xx/5xx) or file
// error; the destination may then hold a partial file, so callers fetch into temporary files.
void fetch(const std::string& source, const std::string& destination,
           const Progress& progress = nullptr);

}  // namespace soma::io
