#include "soma/models/unet.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "soma/io/safetensors.h"
#include "testing.h"

namespace soma::models {
namespace {

bool has(const nn::Module& model, const std::string& name) {
  const auto names = model.state_dict();
  return names.count(name) > 0;
}

TEST(UNet, SamePaddingKeepsTheImagesSize) {
  manual_seed(0);
  UNet net(3, {.classes = 4, .depth = 2, .base = 4});
  const Tensor out = net(Tensor::randn({2, 3, 16, 12}));
  EXPECT_EQ(to_string(out.shape()), "[2, 4, 16, 12]");
  for (const std::string name :
       {"down0.conv1.weight", "down0.bn1.running_mean", "down1.conv2.weight", "bottom.bn2.weight",
        "up1.weight", "up1.bias", "up0_conv.conv1.weight", "up0_conv.bn2.bias", "head.weight",
        "head.bias"})
    EXPECT_TRUE(has(net, name)) << name;
  EXPECT_FALSE(has(net, "down0.conv1.bias"));  // batch norm follows: no bias
  soma::testing::expect_error(
      [&] {
        net(Tensor::randn({1, 3, 18, 16}));
      },
      "unet: images of 18×16 do not halve evenly 2 times (same padding)");
}

TEST(UNet, ScoresAsPyTorchsWithItsWeights) {
  // tests/fixtures/make_fixtures.py's unet(): PyTorch's weights and running statistics loaded by
  // name give PyTorch's scores in evaluation mode, with transposed convolutions or bilinear
  // upsampling.
  for (const bool bilinear : {false, true}) {
    const std::string name = bilinear ? "unet_small_bilinear" : "unet_small";
    const auto fixture =
        io::load_safetensors(std::string(SOMA_FIXTURES_DIR) + "/" + name + ".safetensors").tensors;
    std::map<std::string, Tensor> state;
    for (const auto& [key, value] : fixture)
      if (key.starts_with("state.")) state[key.substr(6)] = value;
    UNet net(3, {.classes = 3, .depth = 2, .base = 4, .bilinear = bilinear});
    net.load_state_dict(state);
    net.eval();
    testing::expect_close(net(fixture.at("input")), fixture.at("output"), 1e-4, 1e-5, name);
  }
}

TEST(UNet, ThePapersNetwork) {
  // Figure 1 of Ronneberger et al.: 572×572 in, 388×388 out, 31,030,658 parameters for one input
  // channel and two classes (Σ of 3×3 convolutions with biases, 64 → 1024 channels and back,
  // 2×2 transposed convolutions, a 1×1 head).
  const UNetOptions paper{.batch_norm = false, .valid = true};
  manual_seed(0);
  UNet net(1, paper);
  EXPECT_EQ(net.parameter_count(), 31030658);
  EXPECT_EQ(net.output_size(572), 388);
  EXPECT_EQ(net.output_size(570), 0);  // 566 after the first level's convolutions: 283 is odd
  // The same geometry at a width a test can run.
  UNet narrow(1, {.base = 2, .batch_norm = false, .valid = true});
  EXPECT_EQ(to_string(narrow(Tensor::randn({1, 1, 572, 572})).shape()), "[1, 2, 388, 388]");
  EXPECT_TRUE(has(narrow, "down0.conv1.bias"));
}

TEST(UNet, BilinearUpsamplingHalvesTheChannelsByAOneByOneConvolution) {
  manual_seed(0);
  UNet net(1, {.depth = 1, .base = 4, .bilinear = true});
  EXPECT_TRUE(has(net, "up0.1.weight"));
  EXPECT_EQ(to_string(net(Tensor::randn({1, 1, 8, 8})).shape()), "[1, 2, 8, 8]");
  soma::testing::expect_error([] { UNet(1, {.depth = 7}); }, "unet: depth must be 1..6, found 7");
}

}  // namespace
}  // namespace soma::models
