#include "soma/core/tensor.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <new>
#include <sstream>

#include "soma/core/allocator.h"

namespace soma {
namespace {

TEST(Tensor, FactoriesAndShape) {
  const Tensor z = Tensor::zeros({2, 3});
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.numel(), 6);
  EXPECT_EQ(z.size(-1), 3);
  EXPECT_EQ(z.dtype(), DType::F32);
  EXPECT_EQ(Tensor::ones({2}).to_vector<float>(), (std::vector<float>{1, 1}));
  EXPECT_EQ(Tensor::full({2}, 7, DType::I64).to_vector<int64_t>(), (std::vector<int64_t>{7, 7}));
  EXPECT_EQ(Tensor::arange(0, 1, 0.25).to_vector<float>(),
            (std::vector<float>{0, 0.25f, 0.5f, 0.75f}));
  EXPECT_EQ(Tensor::scalar(3).item(), 3);
  EXPECT_THROW(Tensor::from({1.0f, 2.0f}, {3}), Error);
}

TEST(Tensor, StorageIsAlignedAndShared) {
  const Tensor t = Tensor::zeros({3, 5});
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw_data()) % 64, 0u);
  const Tensor v = t.view({15});
  v.data<float>()[7] = 4;
  EXPECT_EQ(t.at({1, 2}), 4);  // a view shares storage
  const Tensor c = t.clone();
  c.fill_(1);
  EXPECT_EQ(t.at({0, 0}), 0);  // a clone does not
  EXPECT_THROW(t.view({4, 4}), Error);
}

// A layout that holds the values counting down, and counts how often it is written out.
struct Countdown : Storage::Layout {
  int* conversions;
  explicit Countdown(int* conversions) : conversions(conversions) {}
  void to_plain(void* data) const override {
    ++*conversions;
    float* values = static_cast<float*>(data);
    for (int i = 0; i < 6; ++i) values[i] = float(6 - i);
  }
};

TEST(Tensor, StorageHeldInAnotherLayoutIsWrittenOutOnceWhenRead) {
  const Tensor t = Tensor::zeros({2, 3});
  const Tensor v = t.view({6});
  int conversions = 0;
  t.impl().storage->hold(std::make_shared<Countdown>(&conversions));
  EXPECT_NE(v.impl().storage->layout(), nullptr);
  EXPECT_EQ(conversions, 0);
  EXPECT_EQ(v.to_vector<float>(), (std::vector<float>{6, 5, 4, 3, 2, 1}));  // through the view
  EXPECT_EQ(t.at({1, 2}), 1);
  EXPECT_EQ(conversions, 1);
  EXPECT_EQ(t.impl().storage->layout(), nullptr);
  t.data<float>()[0] = 9;  // writes after the conversion stay
  EXPECT_EQ(v.at({0}), 9);
  EXPECT_EQ(conversions, 1);
}

TEST(Tensor, AllocationsPastTheMemoryLimitFailAndFreeTheirShare) {
  set_memory_limit(size_t(64) << 20);
  {
    const Tensor a = Tensor::empty({8 << 20});               // 32 MiB
    EXPECT_THROW(Tensor::empty({9 << 20}), std::bad_alloc);  // 36 more
    const Tensor b = Tensor::empty({4 << 20});               // 16 MiB: 48 of the 64 alive
    EXPECT_EQ(memory_available(), size_t(64) << 20);
  }
  const Tensor c = Tensor::empty({14 << 20});  // the first two were given back
  set_memory_limit(0);
  EXPECT_NO_THROW(Tensor::empty({32 << 20}));
}

TEST(Tensor, TypedAccessChecksDType) {
  const Tensor t = Tensor::zeros({2}, DType::I64);
  EXPECT_NO_THROW(t.data<int64_t>());
  EXPECT_THROW(t.data<float>(), Error);
  EXPECT_EQ(Tensor::from(std::vector<uint8_t>{255, 1}, {2}).to(DType::F32).to_vector<float>(),
            (std::vector<float>{255, 1}));
}

TEST(Tensor, BFloat16StorageRoundsToNearestEven) {
  const Tensor x = Tensor::from({1.0f, 1.00390625f, 1.01171875f, -3.5f}, {4});
  const Tensor b = x.to(DType::BF16);
  EXPECT_EQ(b.nbytes(), 8u);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7 and rounds to the even 1; 1 + 3·2^-8 rounds up.
  EXPECT_EQ(b.to(DType::F32).to_vector<float>(),
            (std::vector<float>{1.0f, 1.0f, 1.015625f, -3.5f}));
  EXPECT_EQ(b.data<bfloat16>()[3].bits, 0xc060);
}

TEST(Tensor, ElementAccessChecksBounds) {
  const Tensor t = Tensor::arange(6).view({2, 3});
  EXPECT_EQ(t.at({1, 2}), 5);
  EXPECT_THROW(t.at({2, 0}), Error);
  EXPECT_THROW(t.at({0}), Error);
}

TEST(Tensor, Prints) {
  std::ostringstream text;
  text << Tensor::arange(4).view({2, 2});
  EXPECT_EQ(text.str(), "tensor([[0, 1],\n        [2, 3]], shape=[2, 2], f32)");
}

TEST(Tensor, RandomFactoriesAreSeeded) {
  Rng a(5), b(5), c(6);
  EXPECT_EQ(Tensor::randn({10}, a).to_vector<float>(), Tensor::randn({10}, b).to_vector<float>());
  EXPECT_NE(Tensor::randn({10}, a).to_vector<float>(), Tensor::randn({10}, c).to_vector<float>());
}

}  // namespace
}  // namespace soma
