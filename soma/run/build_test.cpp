#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
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

// The zoo's model of `zoo_config` and the graph of `graph_config`, started from the zoo model's
// weights (strictly: the same tensors, names and shapes), give the same losses for `steps` steps
// of the config's optimizer on the batches `batch` makes.
void expect_graph_trains_as_zoo_model(const Config& zoo_config, const Config& graph_config,
                                      const Shape& example, int steps,
                                      const std::function<std::pair<Tensor, Tensor>(int)>& batch) {
  nn::ModulePtr zoo = build_model(zoo_config, example), graph = build_model(graph_config, example);
  std::map<std::string, Tensor> weights;
  for (const auto& [name, tensor] : zoo->state_dict()) weights[as_node_name(name)] = tensor;
  graph->load_state_dict(weights);
  EXPECT_EQ(graph->parameter_count(), zoo->parameter_count());

  const loss::Loss loss = build_loss(zoo_config);
  auto zoo_optimizer = build_optimizer(zoo_config, *zoo),
       graph_optimizer = build_optimizer(graph_config, *graph);
  for (int step = 0; step < steps; ++step) {
    const auto [x, y] = batch(step);
    double losses[2];
    int k = 0;
    for (auto [model, optimizer] :
         {std::pair{zoo.get(), zoo_optimizer.get()}, {graph.get(), graph_optimizer.get()}}) {
      optimizer->zero_grad();
      const Tensor l = loss((*model)(x), y);
      l.backward();
      optimizer->step();
      losses[k++] = l.item();
    }
    EXPECT_NEAR(losses[1], losses[0], 1e-5 * std::abs(losses[0])) << "step " << step;
  }
}

TEST(Graphs, ResNet18AsAConfigGraphTrainsAsTheZoosModel) {
  // configs/cifar10_resnet18_graph.toml for 20 SGD steps of two images (for the test's time).
  manual_seed(1);
  Rng rng(7);
  expect_graph_trains_as_zoo_model(
      load_config(shipped("cifar10_resnet18.toml")),
      load_config(shipped("cifar10_resnet18_graph.toml")), {3, 32, 32}, 20, [&](int step) {
        return std::pair{Tensor::randn({2, 3, 32, 32}, rng),
                         Tensor::from(std::vector<int64_t>{step % 10, (step + 3) % 10}, {2})};
      });
}

TEST(Graphs, UNetAsAConfigGraphIsTheZoosUNet) {
  // configs/isbi2012_unet.toml and the zoo's unet (depth 3, base 16) for three Adam steps.
  std::string text = io::read_file(shipped("isbi2012_unet.toml"));
  text.replace(text.find("[model]"), text.find("[data]") - text.find("[model]"),
               "[model]\nname = \"unet\"\ndepth = 3\nbase = 16\n\n");
  manual_seed(2);
  Rng rng(3);
  expect_graph_trains_as_zoo_model(
      parse_config(text, "unet_zoo.toml"), load_config(shipped("isbi2012_unet.toml")), {1, 32, 32},
      3, [&](int step) {
        return std::pair{Tensor::randn({2, 1, 32, 32}, rng),
                         soma::testing::random_classes({2, 32, 32}, 2, uint64_t(step))};
      });
}

}  // namespace
}  // namespace soma::run
