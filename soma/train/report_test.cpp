#include "soma/train/report.h"

#include <gtest/gtest.h>

namespace soma::train {
namespace {

size_t count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

TEST(Report, ChartsImagesAndEscapedText) {
  ReportInputs in;
  in.title = "run <1>";
  for (int e = 0; e < 3; ++e)
    in.history.epochs.push_back({{"train_loss", 1.0 / (e + 1)},
                                 {"val_loss", 1.2 / (e + 1)},
                                 {"val_accuracy", 0.5 + 0.1 * e},
                                 {"lr", 0.1},
                                 {"seconds", 1.0},
                                 {"samples_per_s", 100.0}});
  in.classes = {"cat", "dog"};
  in.confusion = Tensor::from(std::vector<int64_t>{8, 2, 1, 9}, {2, 2});
  in.misclassified.push_back({Tensor::zeros({1, 4, 4}, DType::U8), 0, 1, 0.7});
  in.config = "a = \"<b>\"";
  in.first_filters = Tensor::randn({6, 1, 5, 5});
  const std::string html = render_report(in);
  EXPECT_EQ(count(html, "<svg class=\"chart\""), 5u);  // accuracy, loss, lr, heat map, bars
  EXPECT_EQ(count(html, "<img src=\"data:image/png;base64,"), 1u);
  EXPECT_EQ(count(html, "src=\"data:image/png;base64,"), 2u);  // and the filters' grid
  EXPECT_NE(html.find("First convolution: 6 filters of 5×5"), std::string::npos);
  EXPECT_NE(html.find("cat → dog (70%)"), std::string::npos);
  EXPECT_NE(html.find("run &lt;1&gt;"), std::string::npos);
  EXPECT_NE(html.find("a = &quot;&lt;b&gt;&quot;"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);  // self-contained, no scripts
  EXPECT_NE(html.find("80.0%"), std::string::npos);    // cat's accuracy, 8 of 10
}

}  // namespace
}  // namespace soma::train
