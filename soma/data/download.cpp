#include "soma/data/download.h"

#include <unistd.h>

#include <filesystem>

#include "soma/core/error.h"
#include "soma/data/idx.h"
#include "soma/io/archive.h"
#include "soma/io/file.h"
#include "soma/io/sha256.h"

namespace soma::data {
namespace fs = std::filesystem;
namespace {

bool is_archive(const std::string& name) { return name.ends_with(".tar.gz"); }

// A folder beside the destination (same file system, so renames are atomic) removed on exit
// unless released.
class Staging {
 public:
  explicit Staging(const fs::path& root)
      : path_(root / (".soma-download-" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~Staging() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

}  // namespace

const std::vector<DatasetInfo>& downloadable_datasets() {
  static const std::vector<DatasetInfo> kDatasets{
      {"mnist",
       "mnist",
       // The copy torchvision downloads from: the original site no longer serves the files.
       "https://ossci-datasets.s3.amazonaws.com/mnist/",
       {{"train-images-idx3-ubyte.gz",
         "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"},
        {"train-labels-idx1-ubyte.gz",
         "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"},
        {"t10k-images-idx3-ubyte.gz",
         "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"},
        {"t10k-labels-idx1-ubyte.gz",
         "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"}},
       {{"train-images-idx3-ubyte",
         "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"},
        {"train-labels-idx1-ubyte",
         "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"},
        {"t10k-images-idx3-ubyte",
         "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"},
        {"t10k-labels-idx1-ubyte",
         "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"}}},
      {"fashion_mnist",
       "fashion-mnist",
       "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
       {{"train-images-idx3-ubyte.gz",
         "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"},
        {"train-labels-idx1-ubyte.gz",
         "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"},
        {"t10k-images-idx3-ubyte.gz",
         "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"},
        {"t10k-labels-idx1-ubyte.gz",
         "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"}},
       {{"train-images-idx3-ubyte",
         "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"},
        {"train-labels-idx1-ubyte",
         "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"},
        {"t10k-images-idx3-ubyte",
         "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"},
        {"t10k-labels-idx1-ubyte",
         "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"}}},
      {"cifar10",
       "cifar-10-batches-bin",
       "https://www.cs.toronto.edu/~kriz/",
       {{"cifar-10-binary.tar.gz",
         "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"}},
       {{"data_batch_1.bin", "cee916563c9f80d84e3cc88e17fdc0941787f1244f00a67874d45b261883ada5"},
        {"data_batch_2.bin", "a591ca11fa1708a91ee40f54b3da4784ccd871ecf2137de63f51ada8b3fa57ed"},
        {"data_batch_3.bin", "bbe8596564c0f86427f876058170b84dac6670ddf06d79402899d93ceea26f67"},
        {"data_batch_4.bin", "014e562d6e23c72197cc727519169a60359f5eccd8945ad5a09d710285ff4e48"},
        {"data_batch_5.bin", "755304fc0b379caeae8c14f0dac912fbc7d6cd469eb67a1029a08a39453a9add"},
        {"test_batch.bin", "8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b"},
        {"batches.meta.txt", "558e74b5e208382e186da55784b4bac2cd52e558448e1b5800990fdb28ed8033"}}},
  };
  return kDatasets;
}

const DatasetInfo& downloadable(const std::string& name) {
  std::string known;
  for (const DatasetInfo& dataset : downloadable_datasets()) {
    if (dataset.name == name) return dataset;
    known += (known.empty() ? "" : ", ") + dataset.name;
  }
  fail("no download known for dataset \"", name, "\" (known: ", known, ")");
}

std::vector<FileCheck> verify(const DatasetInfo& dataset, const std::string& folder) {
  std::vector<FileCheck> checks;
  for (const Digest& file : dataset.files) {
    FileCheck check{file.name, FileState::Missing, "", ""};
    for (const std::string& candidate :
         {folder + "/" + file.name + ".gz", folder + "/" + file.name})
      if (fs::exists(candidate)) {
        check.path = candidate;
        break;
      }
    if (!check.path.empty()) {
      try {
        check.sha256 = io::sha256_hex(read_maybe_gzipped(check.path));
        check.state = check.sha256 == file.sha256 ? FileState::Verified : FileState::Corrupt;
      } catch (const Error&) {
        check.state = FileState::Corrupt;  // an unreadable or corrupt gzip stream
      }
    }
    checks.push_back(check);
  }
  return checks;
}

std::string download(const DatasetInfo& dataset, const std::string& root,
                     const DownloadOptions& options) {
  fs::create_directories(root);
  const fs::path destination = fs::path(root) / dataset.folder;
  Staging staging(root);
  const fs::path unpacked = staging.path() / dataset.folder;
  fs::create_directories(unpacked);
  std::string base = options.mirror.empty() ? dataset.url : options.mirror;
  if (!base.empty() && base.back() != '/') base += '/';

  for (const Digest& download : dataset.downloads) {
    const fs::path fetched = staging.path() / download.name;
    io::fetch(base + download.name, fetched.string(), [&](int64_t done, int64_t total) {
      if (options.progress) options.progress(download.name, done, total);
    });
    const std::string found = io::sha256_file(fetched.string());
    SOMA_CHECK(found == download.sha256, base + download.name, ": SHA-256 mismatch: expected ",
               download.sha256, ", found ", found, " (tampered or corrupt; nothing was written)");
    if (!is_archive(download.name)) {
      fs::rename(fetched, unpacked / download.name);
      continue;
    }
    // Archives hold the dataset folder (cifar-10-batches-bin/...): keep its regular files.
    for (const io::ArchiveFile& file : io::read_archive(fetched.string())) {
      const fs::path inside(file.name);
      if (inside.has_parent_path() && inside.parent_path().filename() == dataset.folder)
        io::write_file_atomically((unpacked / inside.filename()).string(), file.bytes);
    }
    fs::remove(fetched);
  }
  for (const FileCheck& check : verify(dataset, unpacked.string()))
    SOMA_CHECK(check.state == FileState::Verified, dataset.name, ": ", check.name,
               check.state == FileState::Missing ? " is missing from the download"
                                                 : " has the wrong SHA-256 after unpacking");
  // Move into place: the whole folder when there is none yet, else file by file (each rename
  // replaces atomically).
  if (!fs::exists(destination)) {
    fs::rename(unpacked, destination);
  } else {
    for (const fs::directory_entry& entry : fs::directory_iterator(unpacked))
      fs::rename(entry.path(), destination / entry.path().filename());
  }
  return destination.string();
}

}  // namespace soma::data
