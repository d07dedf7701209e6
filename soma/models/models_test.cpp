// The model zoo against the state dicts of the PyTorch equivalents (names and shapes, written by
// tests/fixtures/make_fixtures.py), so that weights move between the two unchanged.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "testing.h"

#include "soma/models/airbench.h"
#include "soma/models/alexnet.h"
#include "soma/models/lenet5.h"
#include "soma/models/resnet.h"
#include "soma/models/vgg.h"
#include "soma/nn/activation.h"
#include "soma/nn/batch_norm.h"
#include "soma/nn/conv.h"
#include "soma/nn/flatten.h"
#include "soma/nn/linear.h"
#include "soma/nn/pooling.h"

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

TEST(ResNet18, ResidualBlocksLearnFromTheirInputs) {
  // The gradient reaches the stem through both the convolutions and the shortcuts.
  ResNet18 resnet;
  const Tensor x = Tensor::randn({2, 3, 16, 16}).requires_grad();
  resnet(x).sum().backward();
  EXPECT_TRUE(x.grad().defined());
  for (const auto& [name, parameter] : resnet.named_parameters())
    EXPECT_TRUE(parameter.grad().defined()) << name;
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

}  // namespace
}  // namespace soma::models
