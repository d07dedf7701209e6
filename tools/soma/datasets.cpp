#include "datasets.h"

#include "soma/data/batches.h"
#include "soma/data/mnist.h"
#include "soma/data/root.h"

namespace soma::cli {
namespace {

Table gate(int64_t (*truth)(int64_t, int64_t)) {
  Table table{Tensor::from({0.0f, 0.0f, 0.0f, 1.0f, 1.0f, 0.0f, 1.0f, 1.0f}, {4, 2}),
              Tensor::zeros({4}, DType::I64)};
  for (int64_t i = 0; i < 4; ++i)
    table.classes.data<int64_t>()[i] =
        truth(int64_t(table.inputs.at({i, 0})), int64_t(table.inputs.at({i, 1})));
  return table;
}

Table image_table(const std::string& folder, data::Split split) {
  const data::ImageSet set = data::load_mnist(folder, split);
  return {data::flatten_images(set.images), set.labels};
}

}  // namespace

Table first_rows(const Table& table, int64_t n) {
  const int64_t rows = std::min(n, table.inputs.size(0));
  const std::vector<int64_t> order = data::file_order(rows);
  return {data::take_rows(table.inputs, order, 0, rows),
          data::take_rows(table.classes, order, 0, rows)};
}

Splits load_dataset(const std::string& name, const std::string& data_dir) {
  if (name == "and" || name == "or" || name == "xor") {
    Table t = name == "and"  ? gate([](int64_t a, int64_t b) { return a & b; })
              : name == "or" ? gate([](int64_t a, int64_t b) { return a | b; })
                             : gate([](int64_t a, int64_t b) { return a ^ b; });
    return {t, t, 2};
  }
  if (name == "mnist" || name == "fashion_mnist") {
    const std::string folder =
        data::find_dataset(name == "mnist" ? "mnist" : "fashion-mnist", data_dir);
    return {image_table(folder, data::Split::Train), image_table(folder, data::Split::Test), 10};
  }
  fail("unknown dataset \"", name, "\" (known: and, or, xor, mnist, fashion_mnist)");
}

}  // namespace soma::cli
