#pragma once
// The layer types a config's [model] layers can name. Each type registers itself in its own file
// under soma/run/layers/: its keys, their checks, and how it becomes a module once the shapes of
// its inputs are known. Adding a layer type touches that file and docs/config.md.
#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "soma/core/shape.h"
#include "soma/nn/module.h"

namespace soma::run {

// One layer's table as its type reads it when the config is loaded. Every reader fails as
// `PATH:LINE: ...`, naming the key.
class LayerKeys {
 public:
  virtual ~LayerKeys() = default;
  const std::string& type() const { return type_; }
  // "PATH:LINE", for messages.
  const std::string& where() const { return where_; }
  virtual bool has(const std::string& key) const = 0;
  // A key's value, or `fallback` when left out; `required` keys must be given.
  virtual int64_t integer(const std::string& key, int64_t fallback,
                          bool required = false) const = 0;
  virtual double number(const std::string& key, double fallback) const = 0;
  virtual bool flag(const std::string& key, bool fallback) const = 0;
  virtual std::string text(const std::string& key, const std::string& fallback) const = 0;
  // One integer for both sides or [height, width], each at least `minimum`.
  virtual std::array<int64_t, 2> size2d(const std::string& key, std::array<int64_t, 2> fallback,
                                        int64_t minimum = 1) const = 0;
  // Throws soma::Error "PATH:LINE: message" unless `ok`.
  void check(bool ok, const std::string& message) const;

 protected:
  LayerKeys(std::string type, std::string where)
      : type_(std::move(type)), where_(std::move(where)) {}

 private:
  std::string type_, where_;
};

// Makes a layer's module for inputs of these shapes (one example's each, no batch dimension);
// throws soma::Error naming the config line for shapes it cannot take.
using LayerBuilder = std::function<nn::ModulePtr(const std::vector<Shape>& inputs)>;

struct LayerType {
  std::vector<std::string> keys;  // besides type, name and from
  // Reads and checks the keys; returns what builds the module.
  std::function<LayerBuilder(const LayerKeys& keys)> read;
  bool merges = false;  // reads two or more layers (add, concat)
};

// Fails as "WHERE: WHAT needs N GiB, more than the M GiB available" where `bytes` could not fit in
// memory, so that a size typed a few digits too long is refused before anything is allocated.
void check_fits_in_memory(double bytes, const std::string& where, const std::string& what);

// Registers `type`; for a static registrar in the type's own file. Throws on a second
// registration of one name.
bool register_layer(const std::string& type, LayerType layer);
// The registered type, or nullptr.
const LayerType* find_layer_type(const std::string& type);
// Every registered name, sorted (for "did you mean").
std::vector<std::string> layer_type_names();

}  // namespace soma::run
