#include "soma/data/file_source.h"

#include <filesystem>
#include <map>
#include <memory>

#include "soma/core/error.h"
#include "soma/io/archive.h"
#include "soma/io/file.h"

namespace soma::data {

FileReader files_in(const std::string& path) {
  if (std::filesystem::is_directory(path))
    return [path](const std::string& name) { return io::read_file(path + "/" + name); };
  auto files = std::make_shared<std::map<std::string, std::string>>();
  for (io::ArchiveFile& file : io::read_archive(path)) (*files)[file.name] = std::move(file.bytes);
  std::string top =
      files->empty() ? "" : files->begin()->first.substr(0, files->begin()->first.find('/') + 1);
  for (const auto& [name, bytes] : *files)
    if (!top.empty() && !name.starts_with(top)) top.clear();
  return [files, top, path](const std::string& name) {
    auto found = files->find(name);
    if (found == files->end()) found = files->find(top + name);
    SOMA_CHECK(found != files->end(), path, ": no file ", name, " in the archive");
    return found->second;
  };
}

}  // namespace soma::data
