#include "soma/train/report.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "soma/data/transforms/image_ops.h"
#include "soma/io/file.h"
#include "soma/io/image.h"
#include "soma/io/masks.h"

namespace soma::train {
namespace {

const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"};

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

std::string number(double value, const char* format = "%.4g") {
  char text[32];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(bytes.data()), int(bytes.size()));
  out.resize(size_t(n));
  return out;
}

// A line chart of named series over epochs 1..n.
std::string line_chart(const std::string& title,
                       const std::vector<std::pair<std::string, std::vector<double>>>& series) {
  const double width = 520, height = 280, left = 60, right = 130, top = 30, bottom = 40;
  double low = INFINITY, high = -INFINITY;
  size_t n = 0;
  for (const auto& [name, values] : series) {
    for (double v : values)
      if (std::isfinite(v)) low = std::min(low, v), high = std::max(high, v);
    n = std::max(n, values.size());
  }
  if (!(low <= high)) low = 0, high = 1;
  if (high - low < 1e-12) high = low + 1;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  auto x_of = [&](size_t i) { return left + (n > 1 ? double(i) / double(n - 1) : 0.5) * plot_w; };
  auto y_of = [&](double v) { return top + (1 - (v - low) / (high - low)) * plot_h; };
  std::string svg = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                    number(width) + "\" height=\"" + number(height) + "\">";
  svg += "<text x=\"" + number(left) + "\" y=\"18\" class=\"title\">" + escape(title) + "</text>";
  for (int t = 0; t <= 4; ++t) {  // horizontal grid lines with values
    const double v = low + (high - low) * t / 4, y = y_of(v);
    svg += "<line x1=\"" + number(left) + "\" x2=\"" + number(left + plot_w) + "\" y1=\"" +
           number(y) + "\" y2=\"" + number(y) + "\" class=\"grid\"/>";
    svg += "<text x=\"" + number(left - 6) + "\" y=\"" + number(y + 4) +
           "\" text-anchor=\"end\" class=\"tick\">" + number(v) + "</text>";
  }
  for (size_t i = 0; i < n; i += std::max<size_t>(1, n / 8))
    svg += "<text x=\"" + number(x_of(i)) + "\" y=\"" + number(top + plot_h + 16) +
           "\" text-anchor=\"middle\" class=\"tick\">" + std::to_string(i + 1) + "</text>";
  svg += "<text x=\"" + number(left + plot_w / 2) + "\" y=\"" + number(height - 6) +
         "\" text-anchor=\"middle\" class=\"tick\">epoch</text>";
  for (size_t s = 0; s < series.size(); ++s) {
    const auto& [name, values] = series[s];
    const char* color = kColors[s % 6];
    std::string points;
    for (size_t i = 0; i < values.size(); ++i)
      if (std::isfinite(values[i])) points += number(x_of(i)) + "," + number(y_of(values[i])) + " ";
    svg += "<polyline fill=\"none\" stroke=\"" + std::string(color) +
           "\" stroke-width=\"2\" points=\"" + points + "\"/>";
    const double ly = top + 14 + 18 * double(s);
    svg += "<rect x=\"" + number(width - right + 12) + "\" y=\"" + number(ly - 9) +
           "\" width=\"12\" height=\"4\" fill=\"" + color + "\"/>";
    svg += "<text x=\"" + number(width - right + 30) + "\" y=\"" + number(ly - 3) +
           "\" class=\"tick\">" + escape(name) + "</text>";
  }
  return svg + "</svg>";
}

// The confusion matrix as a heat map, each row shaded by its share of the row's count.
std::string heat_map(const Tensor& counts, const std::vector<std::string>& classes) {
  const auto c = int64_t(classes.size());
  const double cell = c > 20 ? 14 : 34, left = 110, top = 110;
  const double size_w = left + cell * double(c) + 10, size_h = top + cell * double(c) + 30;
  std::string svg = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                    number(size_w) + "\" height=\"" + number(size_h) + "\">";
  svg += "<text x=\"4\" y=\"16\" class=\"title\">confusion matrix (rows: true class)</text>";
  for (int64_t r = 0; r < c; ++r) {
    int64_t row_total = 0;
    for (int64_t k = 0; k < c; ++k) row_total += counts.data<int64_t>()[r * c + k];
    svg += "<text x=\"" + number(left - 6) + "\" y=\"" + number(top + cell * (double(r) + 0.65)) +
           "\" text-anchor=\"end\" class=\"tick\">" + escape(classes[size_t(r)]) + "</text>";
    for (int64_t k = 0; k < c; ++k) {
      const int64_t v = counts.data<int64_t>()[r * c + k];
      const double share = row_total > 0 ? double(v) / double(row_total) : 0;
      const int shade = int(255 - 200 * std::sqrt(share));
      svg += "<rect x=\"" + number(left + cell * double(k)) + "\" y=\"" +
             number(top + cell * double(r)) + "\" width=\"" + number(cell - 1) + "\" height=\"" +
             number(cell - 1) + "\" fill=\"rgb(" + std::to_string(shade) + "," +
             std::to_string(shade) + ",255)\"><title>" + escape(classes[size_t(r)]) + " → " +
             escape(classes[size_t(k)]) + ": " + std::to_string(v) + "</title></rect>";
      if (cell >= 30)
        svg += "<text x=\"" + number(left + cell * (double(k) + 0.5)) + "\" y=\"" +
               number(top + cell * (double(r) + 0.62)) +
               "\" text-anchor=\"middle\" class=\"cell\"" + (share > 0.5 ? " fill=\"white\"" : "") +
               ">" + std::to_string(v) + "</text>";
    }
  }
  for (int64_t k = 0; k < c; ++k) {
    const double x = left + cell * (double(k) + 0.6), y = top - 6;
    svg += "<text x=\"" + number(x) + "\" y=\"" + number(y) + "\" transform=\"rotate(-50 " +
           number(x) + " " + number(y) + ")\" class=\"tick\">" + escape(classes[size_t(k)]) +
           "</text>";
  }
  return svg + "</svg>";
}

// Values in [0, 1] as horizontal bars with their labels; NaN shows as "—".
std::string bars(const std::string& title, const std::vector<std::string>& labels,
                 const std::vector<double>& values) {
  const double row = 20, left = 110, bar = 300;
  std::string svg = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                    number(left + bar + 70) + "\" height=\"" +
                    number(30 + row * double(labels.size())) + "\">";
  svg += "<text x=\"4\" y=\"16\" class=\"title\">" + escape(title) + "</text>";
  for (size_t r = 0; r < labels.size(); ++r) {
    const double v = std::isnan(values[r]) ? 0 : values[r], y = 26 + row * double(r);
    svg += "<text x=\"" + number(left - 6) + "\" y=\"" + number(y + 12) +
           "\" text-anchor=\"end\" class=\"tick\">" + escape(labels[r]) + "</text>";
    svg += "<rect x=\"" + number(left) + "\" y=\"" + number(y) + "\" width=\"" + number(bar * v) +
           "\" height=\"" + number(row - 4) + "\" fill=\"" + kColors[0] + "\"/>";
    svg += "<text x=\"" + number(left + bar * v + 4) + "\" y=\"" + number(y + 12) +
           "\" class=\"tick\">" +
           (std::isnan(values[r]) ? std::string("—") : number(100 * v, "%.1f") + "%") + "</text>";
  }
  return svg + "</svg>";
}

// Per-class accuracy (recall) of a confusion matrix.
std::string class_bars(const Tensor& counts, const std::vector<std::string>& classes) {
  const auto c = int64_t(classes.size());
  std::vector<double> accuracy;
  for (int64_t r = 0; r < c; ++r) {
    int64_t total = 0;
    for (int64_t k = 0; k < c; ++k) total += counts.data<int64_t>()[r * c + k];
    accuracy.push_back(total > 0 ? double(counts.data<int64_t>()[r * c + r]) / double(total) : 0);
  }
  return bars("accuracy per class", classes, accuracy);
}

// A u8 image for <img>: f32 values are taken as 0..1.
std::string png_of(const Tensor& image) {
  return "data:image/png;base64," + base64(io::encode_png(data::to_bytes(image)));
}

// Convolution filters [O, C, kH, kW] as one u8 image [C, H, W]: a grid of tiles a pixel apart on
// white, each filter scaled so that 0 is mid-grey and its largest magnitude black or white.
Tensor filter_grid(const Tensor& filters) {
  const Tensor w = filters.to(DType::F32).clone();  // dense, in row-major order
  const int64_t count = w.size(0), channels = w.size(1), kh = w.size(2), kw = w.size(3);
  const auto columns = int64_t(std::ceil(std::sqrt(double(count))));
  const int64_t rows = (count + columns - 1) / columns;
  const int64_t height = rows * (kh + 1) - 1, width = columns * (kw + 1) - 1;
  Tensor grid = Tensor::full({channels, height, width}, 255).to(DType::U8);
  const int64_t size = channels * kh * kw;
  for (int64_t f = 0; f < count; ++f) {
    const float* v = w.data<float>() + f * size;
    float largest = 0;
    for (int64_t i = 0; i < size; ++i) largest = std::max(largest, std::abs(v[i]));
    const float scale = largest > 0 ? 127.5f / largest : 0;
    const int64_t top = f / columns * (kh + 1), left = f % columns * (kw + 1);
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t y = 0; y < kh; ++y)
        for (int64_t x = 0; x < kw; ++x)
          grid.data<uint8_t>()[(c * height + top + y) * width + left + x] =
              uint8_t(std::lround(127.5f + scale * v[(c * kh + y) * kw + x]));
  }
  return grid;
}

}  // namespace

std::string render_report(const ReportInputs& in) {
  std::string html =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + escape(in.title) +
      "</title><style>body{font-family:sans-serif;margin:24px;color:#222}h2{margin-top:28px}"
      ".charts{display:flex;flex-wrap:wrap;gap:16px}.title{font-size:14px;font-weight:bold}"
      ".tick{font-size:11px}.cell{font-size:10px}.grid{stroke:#ddd}"
      "pre{background:#f6f6f6;padding:10px;overflow:auto}"
      ".errors{display:flex;flex-wrap:wrap;gap:10px}.errors figure{margin:0;text-align:center;"
      "font-size:11px}.errors img{width:84px;height:84px;image-rendering:pixelated}"
      ".masks img{width:256px;margin:0 6px 6px 0;image-rendering:pixelated}"
      ".filters{image-rendering:pixelated}"
      "table{border-collapse:collapse}td,th{padding:2px "
      "10px;text-align:right}</style></head><body>\n";
  html += "<h1>" + escape(in.title) + "</h1>\n";

  // Curves: every logged number that is not a timing, grouped by what it measures.
  std::map<std::string, std::vector<std::pair<std::string, std::vector<double>>>> charts;
  for (const auto& [name, value] : in.history.epochs.empty() ? Logs{} : in.history.epochs.back()) {
    if (name == "seconds" || name == "samples_per_s") continue;
    const size_t underscore = name.find('_');
    const std::string measure =
        name == "lr" || underscore == std::string::npos ? name : name.substr(underscore + 1);
    charts[measure].emplace_back(name, in.history.values(name));
  }
  html += "<h2>Training</h2><div class=\"charts\">";
  for (const auto& [measure, series] : charts)
    html += line_chart(measure == "lr" ? "learning rate" : measure, series);
  html += "</div>\n";

  if (!in.classes.empty() && in.confusion.defined()) {
    html += "<h2>Test set</h2><div class=\"charts\">" + heat_map(in.confusion, in.classes) +
            class_bars(in.confusion, in.classes) + "</div>\n";
  }
  if (!in.class_iou.empty())
    html += "<h2>Test set</h2><div class=\"charts\">" +
            bars("IoU per class", in.classes, in.class_iou) + "</div>\n";
  if (!in.segmented.empty()) {
    html += "<h2>Test images: image, truth, prediction</h2><div class=\"masks\">";
    for (const SegmentedImage& s : in.segmented) {
      const Tensor image = data::to_bytes(s.image);
      html += "<div><img src=\"" + png_of(image) + "\"><img src=\"" +
              png_of(io::overlay(image, s.truth)) + "\"><img src=\"" +
              png_of(io::overlay(image, s.predicted)) + "\"></div>";
    }
    html += "</div>\n";
  }
  if (!in.misclassified.empty()) {
    html += "<h2>Misclassified test images</h2><div class=\"errors\">";
    for (const Misclassified& m : in.misclassified)
      html += "<figure><img src=\"" + png_of(m.image) + "\"><figcaption>" +
              escape(in.classes.at(size_t(m.truth))) + " → " +
              escape(in.classes.at(size_t(m.predicted))) + " (" +
              number(100 * m.probability, "%.0f") + "%)</figcaption></figure>";
    html += "</div>\n";
  }
  if (in.first_filters.defined()) {
    const Tensor grid = filter_grid(in.first_filters);
    html += "<h2>First convolution: " + std::to_string(in.first_filters.size(0)) + " filters of " +
            std::to_string(in.first_filters.size(2)) + "×" +
            std::to_string(in.first_filters.size(3)) + "</h2><img class=\"filters\" width=\"" +
            std::to_string(std::min<int64_t>(grid.size(2) * 8, 640)) + "\" src=\"" + png_of(grid) +
            "\">\n";
  }
  html +=
      "<h2>Timings</h2><table><tr><th>epochs</th><th>wall time</th><th>training s/epoch</th>"
      "<th>samples/s</th></tr><tr><td>" +
      std::to_string(in.history.epochs.size()) + "</td><td>" + number(in.seconds, "%.1f") +
      " s</td>";
  const std::vector<double> seconds = in.history.values("seconds"),
                            speed = in.history.values("samples_per_s");
  double mean_seconds = 0, mean_speed = 0;
  for (double s : seconds) mean_seconds += s / double(std::max<size_t>(seconds.size(), 1));
  for (double s : speed) mean_speed += s / double(std::max<size_t>(speed.size(), 1));
  html += "<td>" + number(mean_seconds, "%.2f") + "</td><td>" + number(mean_speed, "%.0f") +
          "</td></tr></table>\n";
  html += "<h2>Model</h2><pre>" + escape(in.model_summary) + "</pre>\n";
  html += "<h2>Config</h2><pre>" + escape(in.config) + "</pre>\n</body></html>\n";
  return html;
}

void write_report(const std::string& path, const ReportInputs& inputs) {
  io::write_file_atomically(path, render_report(inputs));
}

}  // namespace soma::train
