// The model zoo against the state dicts of the PyTorch equivalents (names and shapes, written by
// tests/fixtures/make_fixtures.py), so that weights move between the two unchanged.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "soma/models/lenet5.h"
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

}  // namespace
}  // namespace soma::models
