#include "soma/data/datasets/csv.h"

#include <gtest/gtest.h>

#include "testing.h"

namespace soma::data {
namespace {

const char* kIris =
    "sepal_length,sepal_width,petal_length,petal_width,species\n"
    "5.1,3.5,1.4,0.2,setosa\n"
    "7.0,3.2,4.7,1.4,versicolor\r\n"
    "\n"
    "6.3,3.3,6.0,2.5,virginica\n"
    "4.9,\"3.0\",1.4,0.2,setosa\n";

TEST(CsvDataset, ClassifiesByNamedClasses) {
  const CsvDataset data(kIris, "iris.csv", {});
  ASSERT_EQ(data.size(), 4);
  EXPECT_EQ(data.feature_names(), (std::vector<std::string>{"sepal_length", "sepal_width",
                                                            "petal_length", "petal_width"}));
  EXPECT_EQ(data.classes(), (std::vector<std::string>{"setosa", "versicolor", "virginica"}));
  EXPECT_EQ(data.targets().to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 0}));
  const Example e = data.get(1);
  EXPECT_EQ(e.input().to_vector<float>(), (std::vector<float>{7.0f, 3.2f, 4.7f, 1.4f}));
  EXPECT_EQ(data.get(3).input().at({1}), 3.0);
}

TEST(CsvDataset, RegressesOnSeveralTargetsAndReadsGzip) {
  testing::TempDir dir;
  dir.write("t.csv.gz", testing::gzip("a;y1;b;y2\n1;10;2;-1.5\n3;30;4;2e-1\n"));
  const CsvDataset data(dir.file("t.csv.gz"),
                        {.targets = {"y2", "y1"}, .task = Task::Regression, .delimiter = ';'});
  EXPECT_EQ(data.inputs().to_vector<float>(), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(data.targets().to_vector<float>(), (std::vector<float>{-1.5f, 10, 0.2f, 30}));
}

TEST(CsvDataset, WholeNumberClassesAreTheirOwnIndices) {
  const CsvDataset data("0.5,2\n0.25,0\n", "n.csv", {.header = false});
  EXPECT_EQ(data.classes(), (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(data.targets().to_vector<int64_t>(), (std::vector<int64_t>{2, 0}));
}

void expect_error(const std::string& text, const CsvOptions& options, const std::string& part) {
  testing::expect_error([&] { CsvDataset(text, "bad.csv", options); }, part);
}

TEST(CsvDataset, BadInputNamesLineAndColumn) {
  expect_error("a,b,y\n1,2,0\n3,0\n", {},
               "bad.csv:3: expected 3 fields as in the first line, found 2");
  expect_error("a,b,y\n1,2,0\n3,x4,1\n", {},
               "bad.csv:3: column \"b\" (2) holds \"x4\", expected a number");
  expect_error("a,b,y\n1,2,0\n", {.targets = {"z"}}, "no column named \"z\"");
  expect_error("a,y\n1,2\n", {.targets = {"a", "y"}}, "classification takes one target column");
  expect_error("", {}, "empty CSV file");
  expect_error("a,b\n", {}, "no data rows");
  expect_error("a,b\n\"1,2\n", {}, "bad.csv:2: unterminated quoted field");
  expect_error("a,y\n1,\n", {}, "bad.csv:2: empty target");
  expect_error("a,y\n1,x\n", {.task = Task::Regression}, "holds \"x\", expected a number");
}

}  // namespace
}  // namespace soma::data
