#include "soma/io/rle.h"

#include <algorithm>
#include <cmath>

namespace soma::io {
namespace {

void check_fills(const Rle& rle, const std::string& what) {
  uint64_t total = 0;
  for (const uint32_t run : rle.counts) total += run;
  SOMA_CHECK(rle.height >= 0 && rle.width >= 0 && total == uint64_t(rle.height * rle.width), what,
             ": runs of ", total, " pixels for a mask of ", rle.height, "×", rle.width);
}

// Runs from pixel values given in column-major order by `value(i)`, starting with a run of 0s.
template <class Value>
std::vector<uint32_t> runs_of(int64_t pixels, Value value) {
  std::vector<uint32_t> counts;
  bool current = false;
  uint32_t run = 0;
  for (int64_t i = 0; i < pixels; ++i) {
    if (value(i) != current) {
      counts.push_back(run);
      run = 0;
      current = !current;
    }
    ++run;
  }
  counts.push_back(run);
  return counts;
}

}  // namespace

Rle rle_encode(const Tensor& mask) {
  SOMA_CHECK(mask.dim() == 2 && mask.dtype() == DType::U8, "rle: expected a u8 mask [H, W], found ",
             name_of(mask.dtype()), " ", to_string(mask.shape()));
  const int64_t height = mask.size(0), width = mask.size(1);
  const uint8_t* m = mask.data<uint8_t>();
  return {height, width, runs_of(height * width, [&](int64_t i) {
            return m[(i % height) * width + i / height] != 0;  // column-major
          })};
}

Tensor rle_decode(const Rle& rle) {
  check_fills(rle, "rle");
  Tensor mask = Tensor::zeros({rle.height, rle.width}, DType::U8);
  uint8_t* m = mask.data<uint8_t>();
  int64_t i = 0;
  for (size_t r = 0; r < rle.counts.size(); ++r) {
    for (uint32_t k = 0; k < rle.counts[r]; ++k, ++i)
      if (r % 2) m[(i % rle.height) * rle.width + i / rle.height] = 1;
  }
  return mask;
}

std::string rle_to_string(const Rle& rle) {
  std::string text;
  for (size_t i = 0; i < rle.counts.size(); ++i) {
    int64_t x = rle.counts[i];
    if (i > 2) x -= rle.counts[i - 2];  // COCO's runs after the third are differences
    for (bool more = true; more;) {
      int c = int(x & 0x1f);
      x >>= 5;  // arithmetic: a negative difference keeps its sign bits
      more = (c & 0x10) ? x != -1 : x != 0;
      if (more) c |= 0x20;
      text += char(c + '0');
    }
  }
  return text;
}

Rle rle_from_string(const std::string& text, int64_t height, int64_t width) {
  Rle rle{height, width, {}};
  size_t p = 0;
  while (p < text.size()) {
    int64_t x = 0;
    int shift = 0;
    for (bool more = true; more; shift += 5) {
      SOMA_CHECK(p < text.size(), "rle: the string ends inside a run");
      const int c = text[p++] - '0';
      SOMA_CHECK(c >= 0 && c < 64 && shift < 60, "rle: character '", text[p - 1], "' at ", p - 1,
                 " is not COCO's compressed run-length encoding");
      x |= int64_t(c & 0x1f) << shift;
      more = c & 0x20;
      if (!more && (c & 0x10)) x |= int64_t(-1) * (int64_t(1) << (shift + 5));  // sign
    }
    const size_t i = rle.counts.size();
    if (i > 2) x += rle.counts[i - 2];
    SOMA_CHECK(x >= 0 && x <= int64_t(UINT32_MAX), "rle: run ", i, " is ", x,
               ", outside the pixels of a mask");
    rle.counts.push_back(uint32_t(x));
  }
  check_fills(rle, "rle string");
  return rle;
}

Rle rle_merge(const std::vector<Rle>& masks, bool intersect) {
  SOMA_CHECK(!masks.empty(), "rle: nothing to merge");
  Rle merged = masks[0];
  for (size_t n = 1; n < masks.size(); ++n) {
    const Rle& other = masks[n];
    SOMA_CHECK(other.height == merged.height && other.width == merged.width, "rle: merging a ",
               other.height, "×", other.width, " mask into a ", merged.height, "×", merged.width,
               " one");
    // Walk both run lists at once; each step covers pixels where neither changes value.
    const std::vector<uint32_t>&a = merged.counts, &b = other.counts;
    size_t i = 0, j = 0;
    uint64_t left_a = a.empty() ? 0 : a[0], left_b = b.empty() ? 0 : b[0];
    bool in_a = false, in_b = false, current = false;
    uint64_t run = 0;
    std::vector<uint32_t> counts;
    const auto advance = [](const std::vector<uint32_t>& runs, size_t& at, uint64_t& left,
                            bool& inside) {
      while (left == 0 && at + 1 < runs.size()) {
        left = runs[++at];
        inside = !inside;
      }
    };
    advance(a, i, left_a, in_a);
    advance(b, j, left_b, in_b);
    while (left_a > 0 && left_b > 0) {
      const uint64_t step = std::min(left_a, left_b);
      const bool value = intersect ? in_a && in_b : in_a || in_b;
      if (value != current) {
        counts.push_back(uint32_t(run));
        run = 0;
        current = value;
      }
      run += step;
      left_a -= step;
      left_b -= step;
      advance(a, i, left_a, in_a);
      advance(b, j, left_b, in_b);
    }
    counts.push_back(uint32_t(run));
    merged.counts = std::move(counts);
  }
  return merged;
}

Rle rle_from_polygon(const std::vector<double>& xy, int64_t height, int64_t width) {
  SOMA_CHECK(xy.size() % 2 == 0 && xy.size() >= 6,
             "rle: a polygon needs 3 or more points as x, y pairs, found ", xy.size(),
             " coordinates");
  // The outline at 5× resolution, each edge traced one step along its longer axis; COCO rounds
  // by truncating x + 0.5 toward zero.
  constexpr double kScale = 5;
  const size_t corners = xy.size() / 2;
  std::vector<int64_t> cx(corners + 1), cy(corners + 1);
  for (size_t k = 0; k < corners; ++k) {
    cx[k] = int64_t(kScale * xy[2 * k] + 0.5);
    cy[k] = int64_t(kScale * xy[2 * k + 1] + 0.5);
  }
  cx[corners] = cx[0];
  cy[corners] = cy[0];
  std::vector<int64_t> u, v;  // the traced points
  for (size_t k = 0; k < corners; ++k) {
    int64_t xs = cx[k], xe = cx[k + 1], ys = cy[k], ye = cy[k + 1];
    const int64_t dx = std::abs(xe - xs), dy = std::abs(ye - ys);
    const bool along_x = dx >= dy;
    // Traced from the end with the smaller coordinate on the longer axis, in the same order.
    const bool flip = along_x ? xs > xe : ys > ye;
    if (flip) {
      std::swap(xs, xe);
      std::swap(ys, ye);
    }
    const int64_t steps = along_x ? dx : dy;
    if (steps == 0) {  // a repeated corner
      u.push_back(xs);
      v.push_back(ys);
      continue;
    }
    const double slope = along_x ? double(ye - ys) / double(dx) : double(xe - xs) / double(dy);
    for (int64_t d = 0; d <= steps; ++d) {
      const int64_t t = flip ? steps - d : d;
      if (along_x) {
        u.push_back(t + xs);
        v.push_back(int64_t(double(ys) + slope * double(t) + 0.5));
      } else {
        v.push_back(t + ys);
        u.push_back(int64_t(double(xs) + slope * double(t) + 0.5));
      }
    }
  }
  // Where the outline crosses from one traced column to the next at a pixel column's centre,
  // the pixel row below the crossing toggles inside and outside.
  std::vector<uint64_t> toggles;
  for (size_t j = 1; j < u.size(); ++j) {
    if (u[j] == u[j - 1]) continue;
    const double x = (double(u[j] < u[j - 1] ? u[j] : u[j] - 1) + 0.5) / kScale - 0.5;
    if (std::floor(x) != x || x < 0 || x > double(width - 1)) continue;
    double y = (double(std::min(v[j], v[j - 1])) + 0.5) / kScale - 0.5;
    y = std::ceil(std::clamp(y, 0.0, double(height)));
    toggles.push_back(uint64_t(x) * uint64_t(height) + uint64_t(y));
  }
  toggles.push_back(uint64_t(height * width));
  std::sort(toggles.begin(), toggles.end());
  // Runs between toggles; two toggles at one pixel cancel, joining the runs around them.
  std::vector<uint32_t> counts;
  uint64_t previous = 0;
  bool joining = false;
  for (const uint64_t at : toggles) {
    const auto run = uint32_t(at - previous);
    previous = at;
    if (joining) {
      counts.back() += run;
      joining = false;
    } else if (run == 0 && !counts.empty()) {
      joining = true;
    } else {
      counts.push_back(run);
    }
  }
  return {height, width, counts};
}

int64_t rle_area(const Rle& rle) {
  int64_t area = 0;
  for (size_t i = 1; i < rle.counts.size(); i += 2) area += rle.counts[i];
  return area;
}

std::array<double, 4> rle_bbox(const Rle& rle) {
  const size_t pairs = rle.counts.size() / 2 * 2;
  if (pairs == 0) return {0, 0, 0, 0};
  int64_t xs = rle.width, ys = rle.height, xe = 0, ye = 0, column = 0;
  uint64_t end = 0;
  for (size_t j = 0; j < pairs; ++j) {
    end += rle.counts[j];
    // A run of 1s begins at `end` after a run of 0s and ends at end - 1 after its own.
    const auto pixel = int64_t(end - j % 2);
    const int64_t y = pixel % rle.height, x = pixel / rle.height;
    if (j % 2 == 0)
      column = x;
    else if (column < x) {  // the run crosses a column: every row is covered
      ys = 0;
      ye = rle.height - 1;
    }
    xs = std::min(xs, x);
    xe = std::max(xe, x);
    ys = std::min(ys, y);
    ye = std::max(ye, y);
  }
  return {double(xs), double(ys), double(xe - xs + 1), double(ye - ys + 1)};
}

}  // namespace soma::io
