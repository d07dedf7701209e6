// The model zoo against the state dicts of the PyTorch equivalents (names and shapes, written by
// tests/fixtures/make_fixtures.py), so that weights move between the two unchanged.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "testing.h"

#include "soma/io/safetensors.h"
#include "soma/models/airbench.h"
#include "soma/models/alexnet.h"
#include "soma/models/fcn.h"
#include "soma/models/lenet5.h"
#include "soma/models/resnet.h"
#include "soma/models/unet.h"
#include "soma/models/vgg.h"
#include "soma/nn/activation.h"
#include "soma/nn/batch_norm.h"
#include "soma/nn/conv.h"
#include "soma/nn/flatten.h"
#include "soma/nn/linear.h"
#include "soma/nn/pooling.h"
#include "soma/ops/conv.h"
#include "soma/ops/elementwise.h"
#include "soma/ops/linalg.h"
#include "soma/ops/reduce.h"
#include "soma/ops/shape.h"

namespace soma::models {
namespace {

std::map<std::string, Shape> pytorch_state_dict(const std::string& model) {
  std::ifstream in(std::string(SOMA_FIXTURES_DIR) + "/model_state_dicts.json");
  const nlohmann::json table = nlohmann::json::parse(in).at(model);
  std::map<std::string, Shape> shapes;
  for (const auto& [name, shape] : table.items()) shapes[name] = shape.get<Shape>();
  return shapes;
}

int64_t pytorch_parameter_count(const std::string& model) {
  std::ifstream in(std::string(SOMA_FIXTURES_DIR) + "/model_state_dicts.json");
  return nlohmann::json::parse(in).at("parameter_counts").at(model).get<int64_t>();
}

std::map<std::string, Shape> state_dict_shapes(const nn::Module& model) {
  std::map<std::string, Shape> shapes;
  for (const auto& [name, tensor] : model.state_dict()) shapes[name] = tensor.shape();
  return shapes;
}

TEST(LeNet5, StateDictEqualsPyTorchs) {
  EXPECT_EQ(state_dict_shapes(*lenet5()), pytorch_state_dict("lenet5"));
  EXPECT_EQ(state_dict_shapes(*lenet5({.modern = true})), pytorch_state_dict("lenet5_modern"));
  EXPECT_EQ(lenet5()->parameter_count(), 61706);
}

TEST(LeNet5, ClassifiesA28x28Digit) {
  for (bool modern : {false, true}) {
    auto model = lenet5({.modern = modern, .classes = 7});
    EXPECT_EQ((*model)(Tensor::zeros({3, 1, 28, 28})).shape(), (Shape{3, 7}));
    EXPECT_EQ((*model)[1].kind(), modern ? "relu" : "tanh");
    EXPECT_EQ((*model)[2].kind(), modern ? "maxpool2d" : "avgpool2d");
  }
}

TEST(BatchNormLayers, StateDictEqualsPyTorchs) {
  nn::Sequential model{nn::Conv2d(3, 8, {.kernel = 3, .padding = 1, .bias = false}),
                       nn::BatchNorm2d(8),
                       nn::ReLU(),
                       nn::AdaptiveAvgPool2d(1),
                       nn::Flatten(),
                       nn::Linear(8, 16),
                       nn::BatchNorm1d(16)};
  EXPECT_EQ(state_dict_shapes(model), pytorch_state_dict("conv_bn"));
  EXPECT_EQ(model.state_dict().at("1.num_batches_tracked").dtype(), DType::I64);
  model(Tensor::randn({4, 3, 5, 5}));
  model(Tensor::randn({4, 3, 5, 5}));
  EXPECT_EQ(model.state_dict().at("1.num_batches_tracked").item(), 2);
  model.eval();
  model(Tensor::randn({1, 3, 5, 5}));  // evaluation: running statistics, batch of one is fine
  EXPECT_EQ(model.state_dict().at("6.num_batches_tracked").item(), 2);
}

// The state dict (names, shapes) and the parameter count equal PyTorch's, and a batch of two
// images of `side` pixels gives `classes` logits each.
void expect_pytorch_equivalent(nn::Module& model, const std::string& name, int64_t side,
                               int64_t classes) {
  EXPECT_EQ(state_dict_shapes(model), pytorch_state_dict(name)) << name;
  EXPECT_EQ(model.parameter_count(), pytorch_parameter_count(name)) << name;
  model.eval();
  EXPECT_EQ(model(Tensor::randn({2, 3, side, side})).shape(), (Shape{2, classes})) << name;
}

TEST(AlexNet, PaperAndCifarVariantsEqualPyTorchs) {
  AlexNet paper;
  expect_pytorch_equivalent(paper, "alexnet", 224, 1000);
  EXPECT_EQ(paper.parameter_count(), 60965224);  // the paper's "60 million parameters"
  EXPECT_EQ((*paper.features)[2].kind(), "local_response_norm");
  AlexNet cifar({.cifar = true, .classes = 10});
  expect_pytorch_equivalent(cifar, "alexnet_cifar", 32, 10);
}

TEST(Vgg, ElevenAndSixteenLayersEqualPyTorchs) {
  Vgg vgg11({.depth = 11});
  expect_pytorch_equivalent(vgg11, "vgg11", 32, 10);
  Vgg vgg16({.depth = 16});
  expect_pytorch_equivalent(vgg16, "vgg16", 32, 10);
  testing::expect_error([] { Vgg({.depth = 13}); }, "depth 11 or 16");
}

TEST(ResNet18, EqualsTorchvisionsCifarForm) {
  ResNet18 resnet;
  expect_pytorch_equivalent(resnet, "resnet18", 32, 10);
  EXPECT_EQ(resnet.parameter_count(), 11173962);
  EXPECT_TRUE(resnet.state_dict().count("layer2.0.downsample.0.weight"));
  EXPECT_FALSE(resnet.state_dict().count("layer1.0.downsample.0.weight"));
}

TEST(ResNet18, ImageNetStemEqualsTorchvisionsResNet18) {
  ResNet18 resnet({.classes = 1000, .imagenet_stem = true});
  EXPECT_EQ(state_dict_shapes(resnet), pytorch_state_dict("resnet18_imagenet"));
  EXPECT_EQ(resnet.parameter_count(), 11689512);  // torchvision's resnet18
  resnet.eval();
  const std::vector<Tensor> maps = resnet.stages(Tensor::randn({1, 3, 64, 96}));
  ASSERT_EQ(maps.size(), 4u);
  EXPECT_EQ(maps[0].shape(), (Shape{1, 64, 16, 24}));  // 1/4
  EXPECT_EQ(maps[3].shape(), (Shape{1, 512, 2, 3}));   // 1/32
  EXPECT_EQ(resnet(Tensor::randn({2, 3, 64, 64})).shape(), (Shape{2, 1000}));
  ResNet18 features({.classes = 0, .imagenet_stem = true});
  EXPECT_EQ(features(Tensor::randn({2, 3, 64, 64})).shape(), (Shape{2, 512}));
}

TEST(FcnResNet18, StateDictEqualsPyTorchsAndScoresEveryPixel) {
  FcnResNet18 fcn({.classes = 2});
  EXPECT_EQ(state_dict_shapes(fcn), pytorch_state_dict("fcn_resnet18"));
  EXPECT_EQ(fcn.parameter_count(), pytorch_parameter_count("fcn_resnet18"));
  EXPECT_TRUE(fcn.state_dict().count("backbone.layer4.1.bn2.running_var"));
  EXPECT_TRUE(fcn.state_dict().count("classifier.4.bias"));
  fcn.eval();
  EXPECT_EQ(fcn(Tensor::randn({2, 3, 64, 96})).shape(), (Shape{2, 2, 64, 96}));
  testing::expect_error(
      [&] {
        fcn(Tensor::randn({1, 3, 48, 64}));
      },
      "fcn_resnet18: expected RGB images [N, 3, H, W] with sides that are "
      "multiples of 32, found [1, 3, 48, 64]");
}

TEST(ResNet18, ResidualBlocksLearnFromTheirInputs) {
  // The gradient reaches the stem through both the convolutions and the shortcuts.
  ResNet18 resnet;
  const Tensor x = Tensor::randn({2, 3, 16, 16}).requires_grad_();
  resnet(x).sum().backward();
  EXPECT_TRUE(x.grad().defined());
  for (const auto& [name, parameter] : resnet.named_parameters())
    EXPECT_TRUE(parameter.grad().defined()) << name;
}

TEST(UNet, StateDictEqualsPyTorchs) {
  UNet transposed(3, {.classes = 2, .depth = 4, .base = 16});
  EXPECT_EQ(state_dict_shapes(transposed), pytorch_state_dict("unet"));
  EXPECT_EQ(transposed.parameter_count(), pytorch_parameter_count("unet"));
  UNet bilinear(1, {.classes = 2, .depth = 3, .base = 8, .bilinear = true});
  EXPECT_EQ(state_dict_shapes(bilinear), pytorch_state_dict("unet_bilinear"));
  EXPECT_EQ(bilinear.parameter_count(), pytorch_parameter_count("unet_bilinear"));
}

TEST(Airbench, EqualsAirbench94sNetwork) {
  auto model = airbench();
  expect_pytorch_equivalent(*model, "airbench", 32, 10);
  // The batch norms learn their bias only: the weight gets no gradient and stays 1.
  model->train();
  (*model)(Tensor::randn({4, 3, 32, 32})).sum().backward();
  const auto parameters = model->named_parameters();
  for (const auto& [name, parameter] : parameters) {
    const bool frozen =
        name.find("norm") != std::string::npos && name.find(".weight") != std::string::npos;
    EXPECT_EQ(parameter.grad().defined(), !frozen) << name;
  }
}

TEST(Airbench, ConvolutionsStartAsTheIdentity) {
  // airbench's dirac_ initialisation: each 3×3 convolution's first filters copy their input.
  auto model = airbench();
  std::map<std::string, Tensor> parameters;
  for (const auto& [name, parameter] : model->named_parameters()) parameters[name] = parameter;
  for (const char* name :
       {"2.conv1.weight", "2.conv2.weight", "3.conv1.weight", "4.conv2.weight"}) {
    const Tensor& w = parameters.at(name);
    const int64_t in = w.size(1), out = w.size(0);
    const Tensor x = Tensor::randn({2, in, 5, 5});
    const Tensor y = conv2d(x, w, Tensor(), {.padding = {1, 1}});
    testing::expect_close(slice(y, 1, 0, in), x, 0, 1e-6, name);
    if (out > in) {
      EXPECT_GT(sum(abs(slice(y, 1, in, out - in))).item(), 1.0) << name;
    }
  }
}

TEST(Airbench, WhiteningInitialisationEqualsAirbenchsAndWhitensPatches) {
  const auto fixture =
      io::load_safetensors(std::string(SOMA_FIXTURES_DIR) + "/whitening.safetensors").tensors;
  const Tensor& images = fixture.at("images");    // [6, 3, 8, 8]
  const Tensor& expected = fixture.at("weight");  // [24, 3, 2, 2]
  nn::Conv2d whiten(3, 24, {.kernel = 2});
  init_whitening(whiten, images);
  EXPECT_FALSE(whiten.weight.requires_grad());
  // An eigenvector's sign is arbitrary: filter f matches airbench's or its negation, and filter
  // f + 12 is its negation either way.
  const Tensor w = whiten.weight.reshape({24, 12}), e = expected.reshape({24, 12});
  for (int64_t f = 0; f < 12; ++f) {
    const Tensor mine = slice(w, 0, f, 1), theirs = slice(e, 0, f, 1);
    const double sign = sum(mine * theirs).item() > 0 ? 1 : -1;
    testing::expect_close(mine, theirs * sign, 1e-3, 1e-3, "filter " + std::to_string(f));
    testing::expect_close(slice(w, 0, f + 12, 1), mine * -1.0, 0, 0, "negated filter");
  }
  // Whitened: the first 12 outputs' second moments over every patch are the identity, less the
  // eps share of each eigenvalue.
  const Tensor y = conv2d(images, slice(whiten.weight, 0, 0, 12));  // [6, 12, 7, 7]
  const Tensor rows = permute(y, {0, 2, 3, 1}).reshape({6 * 7 * 7, 12});
  const Tensor moments = matmul(transpose(rows), rows) * (1.0 / (6 * 7 * 7));
  for (int64_t i = 0; i < 12; ++i)
    for (int64_t j = 0; j < 12; ++j) {
      const double m = moments.at({i, j});
      if (i == j) {
        EXPECT_GT(m, 0.5) << i;
        EXPECT_LT(m, 1.0 + 1e-4) << i;
      } else {
        EXPECT_NEAR(m, 0.0, 1e-4) << i << "," << j;
      }
    }

  nn::Conv2d narrow(3, 12, {.kernel = 2});
  testing::expect_error([&] { init_whitening(narrow, images); },
                        "expected a convolution of 3 channels with 24 filters");
  testing::expect_error(
      [&] {
        init_whitening(whiten, images.reshape({18, 8, 8}));
      },
      "expected f32 images [N, C, H, W]");
}

}  // namespace
}  // namespace soma::models
