#include "soma/io/archive.h"

#include <archive.h>
#include <archive_entry.h>

#include <memory>

#include "soma/core/error.h"

namespace soma::io {

std::vector<ArchiveFile> read_archive(const std::string& path) {
  constexpr int64_t kMaxUnpacked = int64_t(1) << 32;
  std::unique_ptr<archive, int (*)(archive*)> reader(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(reader.get());
  archive_read_support_format_all(reader.get());
  SOMA_CHECK(archive_read_open_filename(reader.get(), path.c_str(), 1 << 16) == ARCHIVE_OK, path,
             ": cannot open archive (", archive_error_string(reader.get()), ")");
  std::vector<ArchiveFile> files;
  int64_t unpacked = 0;
  archive_entry* entry = nullptr;
  for (;;) {
    const int status = archive_read_next_header(reader.get(), &entry);
    if (status == ARCHIVE_EOF) break;
    SOMA_CHECK(status == ARCHIVE_OK || status == ARCHIVE_WARN, path, ": corrupt archive after ",
               files.size(), " files (", archive_error_string(reader.get()), ")");
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    ArchiveFile file{archive_entry_pathname(entry), {}};
    const la_int64_t size = archive_entry_size(entry);
    unpacked += size;
    SOMA_CHECK(size >= 0 && unpacked <= kMaxUnpacked, path, ": ", file.name,
               " takes the archive above 2^32 bytes unpacked");
    file.bytes.resize(size_t(size));
    const la_ssize_t read = archive_read_data(reader.get(), file.bytes.data(), file.bytes.size());
    SOMA_CHECK(read == la_ssize_t(size), path, ": ", file.name, " is truncated or corrupt (",
               read < 0 ? archive_error_string(reader.get()) : "short read", ")");
    files.push_back(std::move(file));
  }
  return files;
}

}  // namespace soma::io
