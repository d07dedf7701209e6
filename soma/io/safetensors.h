#pragma once
// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
// mapping names to {dtype, shape, data_offsets}, then the raw little-endian bytes. Read by
// PyTorch, Hugging Face tools and soma alike.
#include <map>
#include <string>

#include "soma/core/tensor.h"

namespace soma::io {

struct Safetensors {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;  // the header's "__metadata__"
};

// Reads and validates a whole file: header length within the file, JSON well formed, known
// dtypes, offsets inside the data, sizes that match the shapes, no overlaps or holes. Throws
// soma::Error naming the file and the problem; nothing is returned half-read.
Safetensors load_safetensors(const std::string& path);
// The same from bytes in memory; `name` is used in messages.
Safetensors parse_safetensors(const std::string& bytes, const std::string& name);

// Writes the tensors (f32, f64, i64, u8) and metadata atomically.
void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});
std::string serialize_safetensors(const std::map<std::string, Tensor>& tensors,
                                  const std::map<std::string, std::string>& metadata = {});

}  // namespace soma::io
