#pragma once
// The Oxford-IIIT Pet images with their trimaps (Parkhi et al. 2012) as a segmentation set.
#include <string>

#include "soma/data/datasets/image_folder.h"
#include "soma/data/datasets/labelled_images.h"

namespace soma::data {

// oxford-pets-sample/ under the data root: the folder oxford-pets/ when unpacked, else read
// straight from pets.tar. The split is the list files' (annotations/trainval.txt, test.txt).
// Images differ in size, so `options` must give height and width (images resize bilinearly,
// trimaps by nearest). The trimaps' 1 pet / 2 background / 3 border become class 1 pet,
// 0 background, and with options.classes = 3 class 2 border; with classes = 2 the border is
// options.ignored (2-255), for the loss to leave out. Throws soma::Error naming the file for a
// listed image or trimap that is missing or corrupt, or a trimap value other than 1-3.
std::shared_ptr<Dataset> oxford_pets(const std::string& root, Split split,
                                     const SegmentationOptions& options);

}  // namespace soma::data
