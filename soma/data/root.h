#pragma once
// Where datasets live: an explicit folder (--data-dir), else $SOMA_DATA, else
// ~/.cache/soma/datasets; /usr/share/datasets (Debian's dataset packages) is searched after it.
#include <string>
#include <vector>

namespace soma::data {

// The data root: `explicit_root` when not empty, else $SOMA_DATA, else ~/.cache/soma/datasets.
std::string root(const std::string& explicit_root = "");

// The folder of a dataset ("mnist", "fashion-mnist") under the data root or /usr/share/datasets,
// whichever has it first. Throws soma::Error listing the places searched when neither does.
std::string find_dataset(const std::string& folder, const std::string& explicit_root = "");

// The path of `name` in `folder`, gzipped (name.gz) or raw, whichever exists. Throws soma::Error
// when neither does.
std::string find_file(const std::string& folder, const std::string& name);

}  // namespace soma::data
