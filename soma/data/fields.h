#pragma once
// Examples and batches as sets of named tensors (torchvision's sample dictionaries). "input" and
// "target" name what the model reads and what its loss compares with; a task may carry more
// (a detection example's "boxes" and "classes"). Each field's kind says how transforms treat it.
#include <string>
#include <string_view>
#include <vector>

#include "soma/core/tensor.h"

namespace soma::data {

enum class FieldKind {
  Image,   // [C, H, W]: every augmentation changes it
  Mask,    // [C, H, W] labels per pixel: moved with the image, nearest-neighbour, never recoloured
  Boxes,   // [n, 4] (x1, y1, x2, y2) in pixels: moved with the image, clipped, dropped outside it
  PerBox,  // [n, ...], one row per box: loses the rows of the boxes dropped
  Value,   // a label, a sequence, features: left as it is
};

// Boxes and per-box fields have a length of their own in each example: a batch pads them to
// the longest and keeps each example's count.
inline bool per_example_length(FieldKind kind) {
  return kind == FieldKind::Boxes || kind == FieldKind::PerBox;
}

const char* name_of(FieldKind kind);

struct Field {
  std::string name;
  Tensor value;
  FieldKind kind = FieldKind::Value;
  Tensor counts;  // in a batch, a padded field's length in each example: i64 [B]
};

class Fields {
 public:
  // Adds field `name`, or replaces its value and kind.
  Fields& set(std::string name, Tensor value, FieldKind kind = FieldKind::Value);
  bool has(std::string_view name) const { return find(name) != nullptr; }
  // Throws soma::Error naming the fields there are when there is no field `name`.
  const Field& field(std::string_view name) const;
  Field& field(std::string_view name);
  const Tensor& operator[](std::string_view name) const { return field(name).value; }
  Tensor& operator[](std::string_view name) { return field(name).value; }
  void erase(std::string_view name);

  // The model's input (throws when there is none) and its target (an undefined tensor when there
  // is none; the non-const target() adds an empty field to assign to).
  const Tensor& input() const { return field("input").value; }
  Tensor& input() { return field("input").value; }
  const Tensor& target() const;
  Tensor& target();

  const std::vector<Field>& all() const { return fields_; }
  std::vector<Field>& all() { return fields_; }
  std::string names() const;  // "input, target", for messages

 protected:
  const Field* find(std::string_view name) const;
  Field* find(std::string_view name);

 private:
  std::vector<Field> fields_;  // few, in the order they were set
};

// One sample of a dataset.
class Example : public Fields {
 public:
  Example() = default;
  // The fields "input" and "target" (when defined).
  Example(Tensor input, Tensor target, FieldKind input_kind = FieldKind::Value,
          FieldKind target_kind = FieldKind::Value);
};

}  // namespace soma::data
