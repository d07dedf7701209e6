// soma's side of bench/nms.py: times vision::nms on the boxes and scores of a safetensors file
// (tensors boxes [N, 4], scores [N]) and prints one JSON object: the median milliseconds of the
// repeats and how many boxes were kept.
// Usage: soma_bench_nms FILE IOU_THRESHOLD REPEATS
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include "soma/io/safetensors.h"
#include "soma/vision/boxes.h"

using namespace soma;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: soma_bench_nms FILE IOU_THRESHOLD REPEATS\n");
    return 2;
  }
  const auto tensors = io::load_safetensors(argv[1]).tensors;
  const Tensor& boxes = tensors.at("boxes");
  const Tensor& scores = tensors.at("scores");
  const double threshold = std::stod(argv[2]);
  std::vector<double> times;
  int64_t kept = 0;
  for (int r = 0; r < std::stoi(argv[3]); ++r) {
    const auto start = std::chrono::steady_clock::now();
    kept = vision::nms(boxes, scores, threshold).numel();
    times.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
  }
  std::sort(times.begin(), times.end());
  std::printf("{\"ms\": %.4f, \"kept\": %lld}\n", times[times.size() / 2], (long long)kept);
}
