#include "soma/data/download.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "soma/io/file.h"
#include "soma/io/sha256.h"
#include "testing.h"

namespace soma::data {
namespace {

namespace fs = std::filesystem;

// A made-up dataset shipped as one .tar.gz holding its folder, as CIFAR-10 is.
struct Archived {
  testing::TempDir dir;
  DatasetInfo info;

  Archived() {
    dir.write("src/toy-batches/a.bin", "alpha");
    dir.write("src/toy-batches/b.txt", "beta\n");
    dir.write("src/toy-batches/extra/ignored.bin", "x");
    const std::string command =
        "tar -czf " + dir.file("mirror/toy.tar.gz") + " -C " + dir.file("src") + " toy-batches";
    fs::create_directories(dir.file("mirror"));
    EXPECT_EQ(std::system(command.c_str()), 0);
    info = {"toy",
            "toy-batches",
            "unused://",
            {{"toy.tar.gz", io::sha256_file(dir.file("mirror/toy.tar.gz"))}},
            {{"a.bin", io::sha256_hex("alpha")}, {"b.txt", io::sha256_hex("beta\n")}}};
  }
};

TEST(Download, UnpacksVerifiedArchivesIntoTheDataRoot) {
  Archived a;
  const std::string folder = download(a.info, a.dir.file("root"), {.mirror = a.dir.file("mirror")});
  EXPECT_EQ(folder, a.dir.file("root/toy-batches"));
  EXPECT_EQ(io::read_file(folder + "/a.bin"), "alpha");
  for (const FileCheck& check : verify(a.info, folder)) EXPECT_EQ(check.state, FileState::Verified);
  EXPECT_FALSE(fs::exists(folder + "/extra"));
  // Nothing but the dataset folder is left in the root.
  EXPECT_EQ(std::distance(fs::directory_iterator(a.dir.file("root")), fs::directory_iterator()), 1);
}

TEST(Download, MismatchesLeaveNothingBehind) {
  Archived a;
  DatasetInfo wrong_archive = a.info;
  wrong_archive.downloads[0].sha256[0] = wrong_archive.downloads[0].sha256[0] == '0' ? '1' : '0';
  EXPECT_THROW(download(wrong_archive, a.dir.file("root"), {.mirror = a.dir.file("mirror")}),
               Error);
  DatasetInfo wrong_file = a.info;
  wrong_file.files[1].sha256 = io::sha256_hex("gamma\n");
  testing::expect_error(
      [&] { download(wrong_file, a.dir.file("root"), {.mirror = a.dir.file("mirror")}); },
      "b.txt has the wrong SHA-256 after unpacking");
  EXPECT_TRUE(fs::is_empty(a.dir.file("root")));
}

TEST(Download, VerifyReportsMissingAndCorruptFiles) {
  Archived a;
  a.dir.write("have/toy-batches/a.bin", "alpha!");
  const std::vector<FileCheck> checks = verify(a.info, a.dir.file("have/toy-batches"));
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[0].state, FileState::Corrupt);
  EXPECT_EQ(checks[1].state, FileState::Missing);
}

TEST(Sha256, KnownAnswers) {
  EXPECT_EQ(io::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(io::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_THROW(downloadable("imagenet"), Error);
  EXPECT_EQ(downloadable("cifar10").folder, "cifar-10-batches-bin");
}

}  // namespace
}  // namespace soma::data
