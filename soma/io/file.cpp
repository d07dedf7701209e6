#include "soma/io/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "soma/core/error.h"

namespace soma::io {

std::string read_file(const std::string& path) {
  // An ifstream opens a folder and reads nothing from it, which would read as an empty file.
  SOMA_CHECK(!std::filesystem::is_directory(path), path, ": is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  SOMA_CHECK(in, path, ": cannot open for reading (", std::strerror(errno), ")");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  SOMA_CHECK(!in.bad(), path, ": read failed");
  return bytes.str();
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const fs::path hidden = fs::path(".").concat(target.filename().string()).concat(".XXXXXX");
  std::string temp = (folder / hidden.filename()).string();
  const int fd = mkstemp(temp.data());
  SOMA_CHECK(fd >= 0, path, ": cannot create a temporary file beside it (", std::strerror(errno),
             ")");
  // mkstemp makes the file private (0600); what soma writes (weights, reports) is an ordinary file.
  ::fchmod(fd, 0644);
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string reason = std::strerror(errno);
      ::close(fd);
      ::unlink(temp.c_str());
      fail(path, ": write failed (", reason, ")");
    }
    written += size_t(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    ::unlink(temp.c_str());
    fail(path, ": cannot replace the file (", reason, ")");
  }
  // Make the rename itself durable.
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace soma::io
