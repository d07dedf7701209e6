#include "soma/run/layer_registry.h"

#include <unistd.h>

#include <cstdio>
#include <map>

#include "soma/core/allocator.h"
#include "soma/core/error.h"

namespace soma::run {
namespace {

// Built on first use, so that registrars in other files may run in any order.
std::map<std::string, LayerType>& registry() {
  static std::map<std::string, LayerType> types;
  return types;
}

}  // namespace

void LayerKeys::check(bool ok, const std::string& message) const {
  SOMA_CHECK(ok, where_, ": ", message);
}

void check_fits_in_memory(double bytes, const std::string& where, const std::string& what) {
  const double memory = double(memory_available());
  if (bytes <= memory) return;
  char text[96];
  std::snprintf(text, sizeof text, " needs %.1f GiB, more than the %.1f GiB available",
                bytes / double(1 << 30), memory / double(1 << 30));
  fail(where, ": ", what, text);
}

bool register_layer(const std::string& type, LayerType layer) {
  SOMA_CHECK(registry().emplace(type, std::move(layer)).second, "layer type \"", type,
             "\" registered twice");
  return true;
}

const LayerType* find_layer_type(const std::string& type) {
  const auto found = registry().find(type);
  return found == registry().end() ? nullptr : &found->second;
}

std::vector<std::string> layer_type_names() {
  std::vector<std::string> names;
  for (const auto& [name, layer] : registry()) names.push_back(name);
  return names;
}

}  // namespace soma::run
