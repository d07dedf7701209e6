#include "soma/data/datasets/oxford_pets.h"

#include <gtest/gtest.h>

#include "soma/io/image.h"
#include "testing.h"

namespace soma::data {
namespace {

// An unpacked oxford-pets-sample/ of one trainval and one test image of 4×6, whose trimap holds
// each of the three values.
struct PetFolder {
  testing::TempDir dir;
  PetFolder() {
    dir.write("oxford-pets-sample/oxford-pets/annotations/trainval.txt",
              "#Image CLASS-ID SPECIES BREED ID\ncat_1 1 1 1\n");
    dir.write("oxford-pets-sample/oxford-pets/annotations/test.txt", "dog_1 2 2 1\n");
    for (const char* name : {"cat_1", "dog_1"}) {
      dir.write(std::string("oxford-pets-sample/oxford-pets/images/") + name + ".jpg",
                io::encode_jpeg(Tensor::full({3, 4, 6}, 120).to(DType::U8)));
      trimap(name, 2);
    }
  }
  // The trimap of `name`: `fill` everywhere but a pet in the top-left pixel and a border beside.
  void trimap(const std::string& name, uint8_t fill) const {
    Tensor values = Tensor::full({1, 4, 6}, fill).to(DType::U8);
    values.data<uint8_t>()[0] = 1;
    values.data<uint8_t>()[1] = 3;
    dir.write("oxford-pets-sample/oxford-pets/annotations/trimaps/" + name + ".png",
              io::encode_png(values));
  }
};

TEST(OxfordPets, TrimapsBecomeClassesWithTheBorderIgnoredOrItsOwn) {
  const PetFolder pets;
  const auto two =
      oxford_pets(pets.dir.file(""), Split::Train,
                  {.channels = 3, .height = 4, .width = 6, .classes = 2, .ignored = 255});
  ASSERT_EQ(two->size(), 1);
  const Example example = two->get(0);
  EXPECT_EQ(example.input().shape(), (Shape{3, 4, 6}));
  EXPECT_EQ(example.target().shape(), (Shape{1, 4, 6}));
  EXPECT_EQ(example.target().at({0, 0, 0}), 1);    // pet
  EXPECT_EQ(example.target().at({0, 0, 1}), 255);  // border, ignored
  EXPECT_EQ(example.target().at({0, 3, 5}), 0);    // background
  const auto three = oxford_pets(pets.dir.file(""), Split::Test,
                                 {.channels = 3, .height = 8, .width = 12, .classes = 3});
  const Example resized = three->get(0);
  EXPECT_EQ(resized.input().shape(), (Shape{3, 8, 12}));
  EXPECT_EQ(resized.target().at({0, 1, 1}), 1);  // nearest sampling keeps the values
  EXPECT_EQ(resized.target().at({0, 0, 2}), 2);
  EXPECT_EQ(resized.target().at({0, 7, 11}), 0);
}

TEST(OxfordPets, BadDataNamesTheFile) {
  const PetFolder pets;
  const SegmentationOptions options{.height = 4, .width = 6, .classes = 2, .ignored = 255};
  pets.trimap("cat_1", 0);
  testing::expect_error([&] { oxford_pets(pets.dir.file(""), Split::Train, options); },
                        "trimaps/cat_1.png: value 0 at pixel (0, 2) is no trimap value");
  pets.dir.write("oxford-pets-sample/oxford-pets/annotations/test.txt", "cow_1 3 2 1\n");
  testing::expect_error([&] { oxford_pets(pets.dir.file(""), Split::Test, options); },
                        "images/cow_1.jpg");
  testing::expect_error(
      [&] { oxford_pets(pets.dir.file(""), Split::Train, {.classes = 2, .ignored = 255}); },
      "the images differ in size");
  testing::expect_error(
      [&] {
        oxford_pets(pets.dir.file(""), Split::Train, {.height = 4, .width = 6, .classes = 2});
      },
      "needs an ignore_index of 2-255");
}

TEST(OxfordPets, ReadsTheSampleArchiveInTheDataRoot) {
  const auto root = testing::data_root();
  if (!root) GTEST_SKIP() << "SOMA_DATA is not set";
  const SegmentationOptions options{
      .channels = 3, .height = 64, .width = 64, .classes = 2, .ignored = 255};
  const auto train = oxford_pets(*root, Split::Train, options);
  const auto test = oxford_pets(*root, Split::Test, options);
  EXPECT_EQ(train->size(), 300);
  EXPECT_EQ(test->size(), 298);
  int64_t pet = 0, background = 0, border = 0;
  for (int64_t i = 0; i < test->size(); ++i)
    for (uint8_t v : test->get(i).target().to_vector<uint8_t>()) {
      pet += v == 1;
      background += v == 0;
      border += v == 255;
    }
  EXPECT_EQ(pet + background + border, 298 * 64 * 64);
  // The pets fill about a third of each picture, their outline a tenth.
  const double total = 298.0 * 64 * 64;
  EXPECT_GT(pet / total, 0.2);
  EXPECT_GT(background / total, 0.3);
  EXPECT_GT(border / total, 0.03);
}

}  // namespace
}  // namespace soma::data
