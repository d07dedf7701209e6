#pragma once
// PNG (libpng) and JPEG (libjpeg-turbo) images as u8 tensors [C, H, W], C = 1 (grey) or 3 (RGB).
#include <string>
#include <string_view>

#include "soma/core/tensor.h"

namespace soma::io {

// Decodes PNG or JPEG bytes (told apart by their signature) into u8 [C, H, W]. `channels` 0 keeps
// the file's colour (grey stays 1 channel, colour becomes RGB; alpha is dropped onto black), 1
// or 3 converts. `file` names the source in errors. Throws soma::Error for anything else, for a
// corrupt or truncated stream, or for an image above 2^28 bytes decoded.
Tensor decode_image(std::string_view bytes, const std::string& file, int channels = 0);

// Reads and decodes an image file.
Tensor read_image(const std::string& path, int channels = 0);

// Encodes u8 [C, H, W] (C = 1 or 3) as PNG or JPEG (quality 1..100).
std::string encode_png(const Tensor& image);
std::string encode_jpeg(const Tensor& image, int quality = 90);

// Writes an image atomically, as PNG or JPEG by the path's extension (.png, .jpg, .jpeg).
void write_image(const std::string& path, const Tensor& image);

}  // namespace soma::io
