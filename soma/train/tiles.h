#pragma once
// Segmenting images larger than a model was trained on: the U-Net paper's overlap-tile strategy.
#include "soma/nn/module.h"

namespace soma::train {

struct TileOptions {
  int64_t tile = 256;    // the side of the square tiles the model sees (its training crop)
  int64_t overlap = 64;  // how far neighbouring tiles overlap; their scores blend across it
};

// Class probabilities [K, H, W] for one image [C, H, W] (f32, as the model takes it) from a model
// that gives K scores per pixel of its input ([1, K, T, T] for [1, C, T, T]; softmax over K, or
// the sigmoid of one channel as the probability of class 1). The image is covered by tiles of
// options.tile × options.tile, overlapping by at least options.overlap; each tile's
// probabilities are weighted by a ramp that falls towards the tile's edges, so seams blend and
// the pixels near a tile's edge, which see the least context, count least. Parts of a tile past
// the image's edge read the image mirrored across it. Runs in evaluation mode without a graph.
// Throws soma::Error for a tile that is not positive, an overlap not below the tile, or a model
// whose output is not a map of the tile's size.
Tensor predict_in_tiles(nn::Module& model, const Tensor& image, const TileOptions& options = {});

}  // namespace soma::train
