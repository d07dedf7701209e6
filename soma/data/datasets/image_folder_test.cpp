#include "soma/data/datasets/image_folder.h"

#include <gtest/gtest.h>

#include "soma/io/file.h"
#include "soma/io/image.h"
#include "testing.h"

namespace soma::data {
namespace {

// Writes an image file (PNG or JPEG by extension) into the temp folder, making folders.
void put(const testing::TempDir& dir, const std::string& name, const Tensor& image) {
  dir.write(name, name.ends_with(".png") ? io::encode_png(image) : io::encode_jpeg(image));
}

Tensor solid(int64_t channels, int64_t h, int64_t w, uint8_t value) {
  return Tensor::full({channels, h, w}, value).to(DType::U8);
}

TEST(ImageFolder, ClassesFromSubfoldersPngAndJpeg) {
  testing::TempDir dir;
  put(dir, "pets/cat/1.png", solid(3, 8, 6, 10));
  put(dir, "pets/cat/2.jpg", solid(3, 8, 6, 200));
  put(dir, "pets/dog/a.png", solid(1, 4, 4, 90));
  dir.write("pets/dog/notes.txt", "not an image");
  const ImageFolder folder(dir.file("pets"), {.channels = 3, .height = 5, .width = 5});
  ASSERT_EQ(folder.size(), 3);
  EXPECT_EQ(folder.classes(), (std::vector<std::string>{"cat", "dog"}));
  const Example dog = folder.get(2);
  EXPECT_EQ(dog.target().item(), 1);
  EXPECT_EQ(dog.input().shape(), (Shape{3, 5, 5}));
  EXPECT_EQ(dog.input().at({2, 4, 4}), 90);
  EXPECT_NEAR(folder.get(1).input().at({0, 2, 2}), 200, 2);  // JPEG is lossy
}

TEST(ImageFolder, BadFolders) {
  testing::TempDir dir;
  EXPECT_THROW(ImageFolder(dir.file("none")), Error);
  dir.write("flat/x.png", io::encode_png(solid(1, 2, 2, 0)));
  EXPECT_THROW(ImageFolder(dir.file("flat")), Error);  // no class subfolders
  put(dir, "two/a/1.png", solid(1, 2, 2, 0));
  dir.write("two/b/readme.txt", "");
  testing::expect_error([&] { ImageFolder(dir.file("two")); },
                        "class folder has no PNG or JPEG images");
  dir.write("bad/a/1.png", "\x89PNG\r\n\x1a\nbroken");
  const ImageFolder bad(dir.file("bad"));
  EXPECT_THROW(bad.get(0), Error);
}

TEST(SegmentationFolder, PairsImagesWithMasksByName) {
  testing::TempDir dir;
  put(dir, "img/a.png", solid(1, 6, 6, 50));
  put(dir, "img/b.jpg", solid(1, 6, 6, 60));
  Tensor mask = solid(1, 6, 6, 0);
  mask.data<uint8_t>()[7] = 255;
  put(dir, "mask/a.png", mask);
  put(dir, "mask/b.png", solid(1, 6, 6, 255));
  const SegmentationFolder data(dir.file("img"), dir.file("mask"), {.binary = true});
  ASSERT_EQ(data.size(), 2);
  const Example a = data.get(0);
  EXPECT_EQ(a.target().shape(), (Shape{1, 6, 6}));
  EXPECT_EQ(a.target().at({0, 1, 1}), 1);
  EXPECT_EQ(a.target().at({0, 0, 0}), 0);
  put(dir, "img/c.png", solid(1, 6, 6, 0));
  EXPECT_THROW(SegmentationFolder(dir.file("img"), dir.file("mask")), Error);  // c has no mask
}

TEST(Isbi2012, ReadsTheArchiveInTheDataRoot) {
  const auto root = testing::data_root();
  if (!root) GTEST_SKIP() << "SOMA_DATA is not set";
  const auto data = isbi2012(*root);
  ASSERT_EQ(data->size(), 30);
  const Example e = data->get(0);
  EXPECT_EQ(e.input().shape(), (Shape{1, 512, 512}));
  EXPECT_EQ(e.target().shape(), (Shape{1, 512, 512}));
  int64_t interior = 0;
  for (uint8_t v : e.target().to_vector<uint8_t>()) {
    ASSERT_LE(v, 1);
    interior += v;
  }
  // About 78% of the pixels are cell interior (the data root's README).
  EXPECT_NEAR(double(interior) / (512 * 512), 0.78, 0.08);
}

TEST(Isbi2012, TruncatedArchiveIsAnError) {
  const auto root = testing::data_root();
  if (!root) GTEST_SKIP() << "SOMA_DATA is not set";
  testing::TempDir dir;
  const std::string archive =
      io::read_file(*root + "/isbi2012-em-segmentation/isbi2012-membrane.tar.gz");
  dir.write("isbi2012-em-segmentation/isbi2012-membrane.tar.gz",
            archive.substr(0, archive.size() / 3));
  testing::expect_error([&] { isbi2012(dir.file("")); }, "isbi2012-membrane.tar.gz");
}

}  // namespace
}  // namespace soma::data
