#pragma once
// The transform pipelines a config's `[data] augment` list describes.
#include "soma/data/dataset.h"
#include "soma/data/transform.h"
#include "soma/run/config.h"

namespace soma::run {

// Checks every augmentation's values without a dataset, so that a mistake in the config is
// reported before any file is read. Throws soma::Error naming the config line.
void check_augmentations(const Config& config);

// Training: every augmentation in order, then to_float (a no-op once the values are floats).
// `train` supplies the pixel statistics of pca_lighting. Throws soma::Error naming the config
// line for bad values.
data::TransformPtr train_transform(const Config& config, const data::Dataset& train);

// Evaluation: only the deterministic steps (to_float, normalize, resize, center_crop), then
// to_float, so test images are prepared as training images are but never augmented.
data::TransformPtr eval_transform(const Config& config);

// One example's input from `dataset` as the model sees it (after the evaluation transforms): its
// shape and dtype.
Tensor model_input(const Config& config, const data::Dataset& dataset);

// What `soma data preview` shows: the augmentations without to_float and normalize, so the
// images stay viewable.
data::TransformPtr preview_transform(const Config& config, const data::Dataset& train);

}  // namespace soma::run
