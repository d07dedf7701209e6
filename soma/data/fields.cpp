#include "soma/data/fields.h"

#include <algorithm>
#include <utility>

namespace soma::data {

const char* name_of(FieldKind kind) {
  switch (kind) {
    case FieldKind::Image:
      return "image";
    case FieldKind::Mask:
      return "mask";
    case FieldKind::Boxes:
      return "boxes";
    case FieldKind::PerBox:
      return "per-box";
    case FieldKind::Value:
      return "value";
  }
  return "?";
}

Fields& Fields::set(std::string name, Tensor value, FieldKind kind) {
  if (Field* found = find(name)) {
    found->value = std::move(value);
    found->kind = kind;
  } else {
    fields_.push_back({std::move(name), std::move(value), kind, {}});
  }
  return *this;
}

const Field* Fields::find(std::string_view name) const {
  for (const Field& f : fields_)
    if (f.name == name) return &f;
  return nullptr;
}

Field* Fields::find(std::string_view name) {
  return const_cast<Field*>(std::as_const(*this).find(name));
}

const Field& Fields::field(std::string_view name) const {
  const Field* found = find(name);
  SOMA_CHECK(found, "no field \"", name, "\": the fields are ", fields_.empty() ? "none" : names());
  return *found;
}

Field& Fields::field(std::string_view name) {
  return const_cast<Field&>(std::as_const(*this).field(name));
}

void Fields::erase(std::string_view name) {
  std::erase_if(fields_, [&](const Field& f) { return f.name == name; });
}

const Tensor& Fields::target() const {
  static const Tensor none;
  const Field* found = find("target");
  return found ? found->value : none;
}

Tensor& Fields::target() {
  if (!has("target")) set("target", {});
  return field("target").value;
}

std::string Fields::names() const {
  std::string out;
  for (const Field& f : fields_) out += (out.empty() ? "" : ", ") + f.name;
  return out;
}

Example::Example(Tensor input, Tensor target, FieldKind input_kind, FieldKind target_kind) {
  set("input", std::move(input), input_kind);
  if (target.defined()) set("target", std::move(target), target_kind);
}

}  // namespace soma::data
