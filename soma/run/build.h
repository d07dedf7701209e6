#pragma once
// What a config describes, built: the model, the optimizer and the learning-rate schedule (the
// loss: soma/run/losses.h).
#include <cstdint>
#include <memory>

#include "soma/nn/sequential.h"
#include "soma/optim/optimizer.h"
#include "soma/run/config.h"
#include "soma/train/callbacks.h"

namespace soma::run {

// The model a config describes, for examples of `input_shape`. Shapes chain: each layer's input
// size (a linear layer's features, a conv2d's or batch norm's channels) is what the layers before
// it make of an example.
nn::ModulePtr build_model(const Config& config, const Shape& input_shape);

// The optimizer the config describes, over the model's parameters.
std::unique_ptr<optim::Optimizer> build_optimizer(const Config& config, const nn::Module& model);

// The callback that runs the config's learning-rate schedule (nullptr without one);
// `batches` is the number of batches per epoch (for one_cycle).
std::shared_ptr<train::Callback> build_schedule(const Config& config, optim::Optimizer& optimizer,
                                                int64_t batches);

}  // namespace soma::run
