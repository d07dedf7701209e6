#include "soma/nn/graph.h"

#include "soma/nn/activation.h"
#include "soma/nn/conv.h"
#include "soma/nn/flatten.h"
#include "soma/nn/merge.h"
#include "soma/nn/pooling.h"
#include "soma/nn/upsample.h"
#include "soma/ops/conv.h"
#include "soma/ops/shape.h"
#include "testing.h"

namespace soma::nn {
namespace {

// A 3×3 convolution by weights the test hands in, so that gradcheck can vary them.
class GivenConv : public Module {
 public:
  explicit GivenConv(Tensor w) : w_(std::move(w)) {}
  Tensor forward(const Tensor& x) override { return conv2d(x, w_, Tensor(), {.padding = {1, 1}}); }
  std::string kind() const override { return "given_conv"; }

 private:
  Tensor w_;
};

// A U-Net in small: two levels, the skip concatenated with the upsampled bottleneck, a residual
// add, and two outputs (the per-pixel map and a pooled vector, as a second head).
Graph small_unet(const std::vector<Tensor>& w) {
  Graph g;
  g.add("enc", std::make_shared<GivenConv>(w[0]));
  g.add("enc_act", std::make_shared<Tanh>());
  g.add("down", std::make_shared<MaxPool2d>());
  g.add("mid", std::make_shared<GivenConv>(w[1]));
  g.add("mid_act", std::make_shared<Tanh>());
  g.add("up", std::make_shared<Upsample>(UpsampleOptions{.scale_factor = 2}));
  g.add("skip", std::make_shared<Concatenate>(1), {"enc_act", "up"});
  g.add("dec", std::make_shared<GivenConv>(w[2]));
  g.add("res", std::make_shared<Add>(), {"dec", "enc"});
  g.add("gate", std::make_shared<Multiply>(), {"res", "enc_act"});
  g.add("pool", std::make_shared<AdaptiveAvgPool2d>(), {"mid_act"});
  g.add("vector", std::make_shared<Flatten>());
  g.set_outputs({"gate", "vector"});
  return g;
}

// Both outputs flattened into one tensor, which carries the gradients of each.
Tensor run_small_unet(const std::vector<Tensor>& in) {
  Graph g = small_unet({in[1], in[2], in[3]});
  const std::vector<Tensor> outputs = g.forward_all({in[0]});
  return concat({outputs[0].reshape({-1}), outputs[1].reshape({-1})}, 0);
}

const std::vector<testing::Input> kUnetInputs{
    testing::Input({2, 2, 6, 4}), testing::Input({3, 2, 3, 3}, -0.5, 0.5),
    testing::Input({5, 3, 3, 3}, -0.5, 0.5), testing::Input({3, 8, 3, 3}, -0.5, 0.5)};

TEST(Graph, Gradcheck) { testing::expect_gradcheck(run_small_unet, kUnetInputs); }

TEST(Graph, MatchesReference) {
  testing::expect_backends_agree(run_small_unet, kUnetInputs, 1e-4, 1e-5);
}

TEST(Graph, NamesParametersAfterItsNodes) {
  Graph g;
  g.add("features", std::make_shared<Conv2d>(3, 4, Conv2dOptions{.kernel = 3}));
  g.add("act", std::make_shared<ReLU>());
  g.add("head", std::make_shared<Conv2d>(4, 2, Conv2dOptions{.kernel = 1}), {"act"});
  std::vector<std::string> names;
  for (const auto& [name, tensor] : g.named_parameters()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"features.weight", "features.bias", "head.weight",
                                             "head.bias"}));
  EXPECT_EQ(g.outputs(), std::vector<std::string>{"head"});
  EXPECT_EQ(g(Tensor::zeros({1, 3, 5, 5})).shape(), (Shape{1, 2, 3, 3}));
}

TEST(Graph, RefusesWhatCannotBeRun) {
  Graph g;
  g.add("a", std::make_shared<ReLU>());
  testing::expect_error([&] { g.add("b", std::make_shared<ReLU>(), {"c"}); },
                        "node \"b\" reads \"c\", which is no input or earlier node");
  testing::expect_error([&] { g.add("a", std::make_shared<ReLU>()); }, "\"a\" is taken");
  testing::expect_error([&] { g.add("input", std::make_shared<ReLU>()); }, "\"input\" is taken");
  testing::expect_error([&] { g.set_outputs({"z"}); }, "output \"z\" is no node");
  g.add("sum", std::make_shared<Add>(), {"input", "a"});
  g.add("cat", std::make_shared<Concatenate>(1), {"sum", "a"});
  g.add("bad", std::make_shared<Add>(), {"cat", "a"});
  testing::expect_error(
      [&] {
        g(Tensor::zeros({2, 3}));
      },
      "node \"bad\" (add): add: input 1 has shape [2, 3], input 0 has [2, 6]");
  testing::expect_error(
      [&] {
        g.forward_all({Tensor::zeros({2, 3}), Tensor::zeros({2, 3})});
      },
      "graph: takes 1 input, given 2");
  Graph lone;
  lone.add("add", std::make_shared<Add>());
  testing::expect_error([&] { lone(Tensor::zeros({2})); }, "add: merges two or more inputs");
}

}  // namespace
}  // namespace soma::nn
