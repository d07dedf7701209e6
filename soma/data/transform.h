#pragma once
// The interface of augmentations and other per-example transforms. A transform changes one
// example in place using only the random stream it is handed, so a seeded loader reproduces
// every augmented batch exactly, whichever thread transforms it.
#include <memory>
#include <string>
#include <vector>

#include "soma/core/rng.h"
#include "soma/data/dataset.h"

namespace soma::data {

// Where a loader drew an example: the epoch, and a random number fixed for the example across
// epochs (from the loader's seed and the example's index), for transforms that vary an example's
// treatment by epoch rather than drawing it afresh.
struct Draw {
  int64_t epoch = 0;
  uint64_t example_key = 0;
};

class Transform {
 public:
  virtual ~Transform() = default;
  // Transforms `example` in place. Geometric transforms move an image-shaped target (a
  // segmentation mask) with the input; photometric ones leave the target alone.
  virtual void apply(Example& example, Rng& rng) const = 0;
  // The same, knowing where the example was drawn (the data loader calls this one).
  virtual void apply_drawn(Example& example, Rng& rng, const Draw&) const { apply(example, rng); }
  virtual std::string name() const = 0;
};

using TransformPtr = std::shared_ptr<const Transform>;

// Draws for transforms: a uniform value in [low, high), true with probability p, a uniform
// integer in [low, high].
inline double uniform(Rng& rng, double low, double high) {
  double u;
  rng.uniform(&u, 1, low, high);
  return u;
}
inline bool chance(Rng& rng, double p) { return p > 0 && uniform(rng, 0, 1) < p; }
inline int64_t integer(Rng& rng, int64_t low, int64_t high) {
  return low + int64_t(rng.below(uint64_t(high - low + 1)));
}

// The example's first image: the one whose size a transform draws for. Throws soma::Error,
// naming the transform (`what`) and the example's fields, when it has none.
inline const Tensor& first_image(const Example& example, const char* what) {
  for (const Field& f : example.all())
    if (f.kind == FieldKind::Image) return f.value;
  fail(what, ": the example has no image (its fields: ", example.names(), ")");
}

// Runs `change(image)` on each image of the example (a tensor it may replace).
template <typename Change>
void for_each_image(Example& example, const char* what, Change&& change) {
  first_image(example, what);
  for (Field& f : example.all())
    if (f.kind == FieldKind::Image) change(f.value);
}

// The transforms in order.
class Compose : public Transform {
 public:
  explicit Compose(std::vector<TransformPtr> transforms) : transforms_(std::move(transforms)) {}
  void apply(Example& example, Rng& rng) const override {
    for (const TransformPtr& transform : transforms_) transform->apply(example, rng);
  }
  void apply_drawn(Example& example, Rng& rng, const Draw& draw) const override {
    for (const TransformPtr& transform : transforms_) transform->apply_drawn(example, rng, draw);
  }
  std::string name() const override { return "compose"; }
  const std::vector<TransformPtr>& transforms() const { return transforms_; }

 private:
  std::vector<TransformPtr> transforms_;
};

}  // namespace soma::data
