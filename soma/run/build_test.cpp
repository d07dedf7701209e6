#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "soma/io/file.h"
#include "soma/run/build.h"
#include "soma/run/config.h"
#include "soma/run/losses.h"
#include "testing.h"

namespace soma::run {
namespace {

std::string shipped(const std::string& name) {
  return std::string(SOMA_SOURCE_DIR) + "/configs/" + name;
}

// A zoo model's tensor name as a graph whose nodes are named after its modules (with "_" for
// ".") has it: "layer2.0.downsample.0.weight" → "layer2_0_downsample_0.weight".
std::string as_node_name(const std::string& name) {
  const size_t last = name.rfind('.');
  std::string node = name.substr(0, last);
  std::replace(node.begin(), node.end(), '.', '_');
  return node + name.substr(last);
}

TEST(Graphs, ResNet18AsAConfigGraphTrainsAsTheZoosModel) {
  // configs/cifar10_resnet18_graph.toml from the zoo model's initial weights: every tensor has its
  // counterpart, and 20 steps of the config's optimizer give the same losses.
  const Config zoo_config = load_config(shipped("cifar10_resnet18.toml"));
  const Config graph_config = load_config(shipped("cifar10_resnet18_graph.toml"));
  const Shape image{3, 32, 32};
  manual_seed(1);
  nn::ModulePtr zoo = build_model(zoo_config, image), graph = build_model(graph_config, image);
  std::map<std::string, Tensor> weights;
  for (const auto& [name, tensor] : zoo->state_dict()) weights[as_node_name(name)] = tensor;
  graph->load_state_dict(weights);  // strict: the same tensors, names and shapes
  EXPECT_EQ(graph->parameter_count(), zoo->parameter_count());

  const loss::Loss loss = build_loss(zoo_config);
  auto zoo_sgd = build_optimizer(zoo_config, *zoo),
       graph_sgd = build_optimizer(graph_config, *graph);
  Rng rng(7);
  for (int step = 0; step < 20; ++step) {
    const Tensor x = Tensor::randn({2, 3, 32, 32}, rng);  // two images, for the test's time
    const Tensor y = Tensor::from(std::vector<int64_t>{step % 10, (step + 3) % 10}, {2});
    double losses[2];
    int k = 0;
    for (auto [model, sgd] :
         {std::pair{zoo.get(), zoo_sgd.get()}, {graph.get(), graph_sgd.get()}}) {
      sgd->zero_grad();
      const Tensor l = loss((*model)(x), y);
      l.backward();
      sgd->step();
      losses[k++] = l.item();
    }
    EXPECT_NEAR(losses[1], losses[0], 1e-5 * std::abs(losses[0])) << "step " << step;
  }
}

TEST(Graphs, UNetAsAConfigGraphIsTheZoosUNet) {
  // configs/isbi2012_unet.toml from the zoo's unet (depth 3, base 16): the same tensors under the
  // same names, the same scores per pixel and the same losses over three Adam steps.
  const Config graph_config = load_config(shipped("isbi2012_unet.toml"));
  std::string text = io::read_file(shipped("isbi2012_unet.toml"));
  text.replace(text.find("[model]"), text.find("[data]") - text.find("[model]"),
               "[model]\nname = \"unet\"\ndepth = 3\nbase = 16\n\n");
  const Config zoo_config = parse_config(text, "unet_zoo.toml");
  const Shape image{1, 32, 32};
  manual_seed(2);
  nn::ModulePtr zoo = build_model(zoo_config, image), graph = build_model(graph_config, image);
  std::map<std::string, Tensor> weights;
  for (const auto& [name, tensor] : zoo->state_dict()) weights[as_node_name(name)] = tensor;
  graph->load_state_dict(weights);
  EXPECT_EQ(graph->parameter_count(), zoo->parameter_count());

  const loss::Loss loss = build_loss(zoo_config);
  auto zoo_adam = build_optimizer(zoo_config, *zoo),
       graph_adam = build_optimizer(graph_config, *graph);
  Rng rng(3);
  for (int step = 0; step < 3; ++step) {
    const Tensor x = Tensor::randn({2, 1, 32, 32}, rng);
    const Tensor y = soma::testing::random_classes({2, 32, 32}, 2, uint64_t(step));
    double losses[2];
    int k = 0;
    for (auto [model, adam] :
         {std::pair{zoo.get(), zoo_adam.get()}, {graph.get(), graph_adam.get()}}) {
      adam->zero_grad();
      const Tensor l = loss((*model)(x), y);
      l.backward();
      adam->step();
      losses[k++] = l.item();
    }
    EXPECT_NEAR(losses[1], losses[0], 1e-5 * std::abs(losses[0])) << "step " << step;
  }
}

}  // namespace
}  // namespace soma::run
