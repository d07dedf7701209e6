#pragma once
// report.html: one self-contained page about a training run (inline SVG charts and inline PNG
// images, no scripts, no network): loss and metric curves, the learning rate, a confusion-matrix
// heat map with class names, per-class accuracy, misclassified test images (for a segmenter:
// IoU per class and test images beside their true and predicted masks), the first convolution's
// filters, the model summary, the config and the timings.
#include <string>
#include <vector>

#include "soma/core/tensor.h"
#include "soma/train/callback.h"

namespace soma::train {

struct Misclassified {
  Tensor image;  // u8 or f32 [C, H, W] as loaded
  int64_t truth = 0, predicted = 0;
  double probability = 0;  // of the predicted class
};

// A segmenter's test image with its true and predicted masks (u8 [1, H, W] class indices; the
// truth may hold the value the loss ignored).
struct SegmentedImage {
  Tensor image;  // u8 [C, H, W] as loaded
  Tensor truth, predicted;
};

struct ReportInputs {
  std::string title;
  History history;
  std::vector<std::string> classes;  // empty: no classification charts
  Tensor confusion;                  // i64 [C, C], rows true classes (optional)
  std::vector<Misclassified> misclassified;
  std::vector<double> class_iou;  // segmenters: IoU per class of `classes` (NaN: neither true nor
                                  // predicted anywhere)
  std::vector<SegmentedImage> segmented;
  Tensor first_filters;  // the first convolution's weights [O, C, kH, kW], C 1 or 3 (optional)
  std::string model_summary, config;
  double seconds = 0;  // wall time of the run
};

// The page's HTML.
std::string render_report(const ReportInputs& inputs);

// Writes the page atomically.
void write_report(const std::string& path, const ReportInputs& inputs);

}  // namespace soma::train
