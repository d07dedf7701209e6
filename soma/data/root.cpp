#include "soma/data/root.h"

#include <cstdlib>
#include <filesystem>

#include "soma/core/error.h"

namespace soma::data {

std::string root(const std::string& explicit_root) {
  if (!explicit_root.empty()) return explicit_root;
  if (const char* env = std::getenv("SOMA_DATA"); env && *env) return env;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.cache/soma/datasets";
}

std::string find_dataset(const std::string& folder, const std::string& explicit_root) {
  const std::vector<std::string> places{root(explicit_root) + "/" + folder,
                                        "/usr/share/datasets/" + folder};
  for (const std::string& place : places)
    if (std::filesystem::is_directory(place)) return place;
  fail("dataset \"", folder, "\" not found in ", places[0], " or ", places[1],
       " (set --data-dir or SOMA_DATA)");
}

std::string find_file(const std::string& folder, const std::string& name) {
  for (const std::string& candidate : {folder + "/" + name + ".gz", folder + "/" + name})
    if (std::filesystem::exists(candidate)) return candidate;
  fail(folder, ": missing ", name, " (or ", name, ".gz)");
}

}  // namespace soma::data
