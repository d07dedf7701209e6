// upsample: size or scale_factor, mode ("nearest" or "bilinear"), align_corners (bilinear).
#include "soma/nn/upsample.h"
#include "soma/run/layer_registry.h"

namespace soma::run {
namespace {

LayerBuilder read(const LayerKeys& keys) {
  keys.check(keys.has("size") != keys.has("scale_factor"),
             "upsample takes either \"size\" or \"scale_factor\"");
  const std::string mode = keys.text("mode", "nearest");
  keys.check(mode == "nearest" || mode == "bilinear",
             "upsample \"mode\" must be \"nearest\" or \"bilinear\", found \"" + mode + "\"");
  nn::UpsampleOptions options{
      .scale_factor = keys.number("scale_factor", 0.0),
      .mode = mode == "nearest" ? UpsampleMode::Nearest : UpsampleMode::Bilinear,
      .align_corners = keys.flag("align_corners", false)};
  if (keys.has("size")) options.size = nn::Size2d(keys.size2d("size", {1, 1}));
  keys.check(keys.has("size") || options.scale_factor > 0,
             "upsample \"scale_factor\" must be positive");
  keys.check(!options.align_corners || mode == "bilinear",
             "upsample \"align_corners\" applies to bilinear mode only");
  return [options](const std::vector<Shape>&) { return std::make_shared<nn::Upsample>(options); };
}

const bool registered =
    register_layer("upsample", {{"size", "scale_factor", "mode", "align_corners"}, read});

}  // namespace
}  // namespace soma::run
