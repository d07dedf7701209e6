#pragma once
// What a config's task makes of the model's outputs and the dataset's targets, so that a run needs
// no more than the config: the targets in the form the loss expects, the metrics that fit the
// outputs, the L1 penalty and max-norm constraint on the layers' weights, and airbench's whitening.
#include <memory>

#include "soma/data/dataset.h"
#include "soma/nn/module.h"
#include "soma/run/config.h"
#include "soma/train/callback.h"
#include "soma/train/trainer.h"

namespace soma::run {

// How many values the model gives per example of `input` (per step of a sequence; per pixel, its
// classes' scores [C, H, W] for an image [·, H, W] of a dataset of masks). Throws soma::Error for
// outputs of another form, naming the config.
int64_t output_width(const Config& config, nn::Module& model, const Tensor& input);

// Throws soma::Error, naming the config's keys, for a loss or metric that means nothing for a
// model of `outputs` values per example and would print plausible numbers: a categorical loss or
// accuracy of one unit (a probability of 1 whatever it says), top-k of k classes or fewer.
void check_outputs_fit(const Config& config, int64_t outputs);

// The Trainer's options for a config and its model of `outputs` values per example (per pixel):
// targets in the form the loss expects (class indices for sparse cross-entropy, one-hot rows for
// the others, a 0/1 column for a single output unit; masks as class maps [N, H, W], or as 0/1
// maps [N, 1, H, W] for a single output channel), thresholded accuracy for a single output unit, as
// Keras chooses them, and the config's L1 penalty on the weights of the linear and convolution
// layers.
train::TrainerOptions trainer_options(const Config& config, const nn::Module& model,
                                      int64_t outputs);

// Keras' MaxNorm on the linear layers that have a max_norm, after every optimizer step.
std::shared_ptr<train::Callback> max_norm_constraint(const nn::Module& model);

// airbench's whitening layer starts from the patch statistics of the first 5000 training images
// as the model sees them (normalised, not augmented), unless the config says `whiten = false`.
// Its bias stays at zero too: airbench trains it for three epochs at the weights' rate, which the
// bias group's rate (bias_lr_factor) would not keep. Other models are left as they are.
void init_whitening(const Config& config, nn::Module& model, const data::DatasetPtr& train);

}  // namespace soma::run
