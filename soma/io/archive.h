#pragma once
// The files of an archive (tar, tar.gz, zip, … — whatever libarchive reads), in memory.
#include <string>
#include <vector>

namespace soma::io {

struct ArchiveFile {
  std::string name;  // the path inside the archive
  std::string bytes;
};

// The regular files of the archive at `path`, in archive order. Throws soma::Error naming the
// archive for a missing, corrupt or truncated archive, or one above 2^32 bytes unpacked.
std::vector<ArchiveFile> read_archive(const std::string& path);

}  // namespace soma::io
