#pragma once
// The files of a dataset that lives in a folder or in an archive, read by their path inside it.
#include <functional>
#include <string>

namespace soma::data {

// Returns a file's bytes by its path inside the source; throws soma::Error naming it when missing.
using FileReader = std::function<std::string(const std::string& name)>;

// The files of `path`: a folder, or an archive (tar, tar.gz, zip; read once, kept in memory). In
// an archive whose entries all lie in one top folder (coco128/…), names may leave that folder out.
// Throws soma::Error for a missing, corrupt or truncated archive.
FileReader files_in(const std::string& path);

}  // namespace soma::data
