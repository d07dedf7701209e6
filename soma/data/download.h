#pragma once
// The datasets soma can download from their official locations, with SHA-256 digests of what is
// fetched and of every file a loader reads, and the checks `soma data list` runs.
#include <string>
#include <vector>

#include "soma/io/fetch.h"

namespace soma::data {

struct Digest {
  std::string name;    // file name
  std::string sha256;  // lowercase hex
};

struct DatasetInfo {
  std::string name;               // as a config names it: "mnist", "fashion_mnist", "cifar10"
  std::string folder;             // under the data root
  std::string url;                // official location: fetched files are url + name
  std::vector<Digest> downloads;  // what is fetched; .tar.gz archives are unpacked
  std::vector<Digest> files;      // what the loader reads, uncompressed (a .gz of it counts)
};

// MNIST, Fashion-MNIST, CIFAR-10.
const std::vector<DatasetInfo>& downloadable_datasets();
// Throws soma::Error for an unknown name, listing the known ones.
const DatasetInfo& downloadable(const std::string& name);

struct DownloadOptions {
  // Stands in for the official location: a URL (http://host/path) or a local folder holding
  // the same file names.
  std::string mirror = "";
  // Called per fetched file as bytes arrive.
  std::function<void(const std::string& file, int64_t done, int64_t total)> progress = nullptr;
};

// Fetches the dataset into root/folder and returns that folder. Every fetched file's SHA-256 is
// checked before anything is unpacked or moved into place, and the unpacked files' digests
// after; files move into place by rename. Throws soma::Error on any failure (naming the file and
// both digests on a mismatch) and leaves nothing behind.
std::string download(const DatasetInfo& dataset, const std::string& root,
                     const DownloadOptions& options = {});

enum class FileState { Verified, Missing, Corrupt };

struct FileCheck {
  std::string name;
  FileState state = FileState::Missing;
  std::string path;    // the file found (name or name.gz), "" when missing
  std::string sha256;  // its content's digest, when found
};

// The state of each file the loader reads, in `folder`.
std::vector<FileCheck> verify(const DatasetInfo& dataset, const std::string& folder);

}  // namespace soma::data
