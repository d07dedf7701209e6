#include "testing.h"

#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "soma/backend/backend.h"
#include "soma/io/file.h"
#include "soma/io/safetensors.h"

namespace soma::testing {

Tensor random_input(const Input& spec, Rng& rng, DType dtype) {
  Tensor t = Tensor::rand(spec.shape, rng, DType::F64);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    double v = spec.low + (spec.high - spec.low) * p[i];
    if (std::abs(v) < spec.min_abs) v = v < 0 ? v - spec.min_abs : v + spec.min_abs;
    p[i] = v;
  }
  return t.to(dtype);
}

void expect_gradcheck(const Fn& fn, const std::vector<Input>& inputs,
                      const autograd::GradcheckOptions& options) {
  Rng rng(1234);
  std::vector<Tensor> values;
  for (const Input& spec : inputs) values.push_back(random_input(spec, rng, DType::F64));
  const autograd::GradcheckResult result = autograd::gradcheck(fn, values, options);
  EXPECT_TRUE(result.ok) << result.message << " (max error " << result.max_error << ")";
}

void expect_gradcheck(const UnaryFn& fn, const Input& input) {
  expect_gradcheck([&](const std::vector<Tensor>& x) { return fn(x[0]); }, {input});
}

void expect_close(const Tensor& actual, const Tensor& expected, double rtol, double atol,
                  const std::string& what) {
  ASSERT_EQ(to_string(actual.shape()), to_string(expected.shape())) << what;
  const std::vector<double> a = actual.to_vector<double>(), e = expected.to_vector<double>();
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(std::abs(a[i] - e[i]) <= atol + rtol * std::abs(e[i]))) {
      ADD_FAILURE() << what << ": element " << i << " is " << a[i] << ", expected " << e[i];
      return;
    }
  }
}

namespace {

struct Run {
  Tensor output;
  std::vector<Tensor> grads;
};

// Runs fn on fresh leaves made from `inputs` and back-propagates `grad_output` (random when
// undefined, drawn from `rng`).
Run run(const Fn& fn, const std::vector<Tensor>& inputs, Tensor grad_output) {
  std::vector<Tensor> leaves;
  for (const Tensor& input : inputs)
    leaves.push_back(is_floating(input.dtype()) ? input.clone().requires_grad_() : input);
  Run result;
  result.output = fn(leaves);
  if (grad_output.defined() && result.output.requires_grad()) result.output.backward(grad_output);
  for (const Tensor& leaf : leaves)
    result.grads.push_back(leaf.requires_grad() ? leaf.grad() : Tensor());
  return result;
}

}  // namespace

void expect_backends_agree(const Fn& fn, const std::vector<Input>& inputs, double rtol,
                           double atol) {
  Rng rng(99);
  std::vector<Tensor> values;
  for (const Input& spec : inputs) values.push_back(random_input(spec, rng, DType::F32));
  Run cpu, reference;
  {
    BackendGuard guard(reference_backend());
    reference = run(fn, values, Tensor());
  }
  const Tensor grad_output = Tensor::randn(reference.output.shape(), rng);
  {
    BackendGuard guard(reference_backend());
    reference = run(fn, values, grad_output);
  }
  {
    BackendGuard guard(cpu_backend());
    cpu = run(fn, values, grad_output);
  }
  expect_close(cpu.output, reference.output, rtol, atol, "output");
  for (size_t i = 0; i < values.size(); ++i) {
    if (!reference.grads[i].defined()) continue;
    ASSERT_TRUE(cpu.grads[i].defined()) << "input " << i << " got no gradient on the cpu backend";
    expect_close(cpu.grads[i], reference.grads[i], rtol, atol,
                 "gradient of input " + std::to_string(i));
  }
}

void expect_backends_agree(const UnaryFn& fn, const Input& input, double rtol, double atol) {
  expect_backends_agree([&](const std::vector<Tensor>& x) { return fn(x[0]); }, {input}, rtol,
                        atol);
}

void expect_matches_fixture(const std::string& name, const Fn& fn, double rtol, double atol) {
  const std::string path = std::string(SOMA_FIXTURES_DIR) + "/" + name + ".safetensors";
  const io::Safetensors fixture = io::load_safetensors(path);
  std::vector<Tensor> inputs;
  for (int k = 0; fixture.tensors.count("input." + std::to_string(k)); ++k)
    inputs.push_back(fixture.tensors.at("input." + std::to_string(k)));
  ASSERT_FALSE(inputs.empty()) << path << " has no input.0";
  const Run result = run(fn, inputs, fixture.tensors.at("grad_output"));
  expect_close(result.output, fixture.tensors.at("output"), rtol, atol, name + " output");
  for (size_t k = 0; k < inputs.size(); ++k) {
    const std::string key = "grad." + std::to_string(k);
    if (!fixture.tensors.count(key)) continue;
    ASSERT_TRUE(result.grads[k].defined()) << name << ": input " << k << " got no gradient";
    expect_close(result.grads[k], fixture.tensors.at(key), rtol, atol, name + " " + key);
  }
}

void expect_matches_fixture(const std::string& name, const UnaryFn& fn) {
  expect_matches_fixture(name, [&](const std::vector<Tensor>& x) { return fn(x[0]); });
}

std::optional<std::string> data_root() {
  const char* root = std::getenv("SOMA_DATA");
  if (!root || !*root || !std::filesystem::is_directory(root)) return std::nullopt;
  return std::string(root);
}

void expect_error(const std::function<void()>& run, const std::string& part) {
  try {
    run();
    ADD_FAILURE() << "expected an error containing \"" << part << "\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

std::vector<int64_t> class_counts(const Tensor& labels, int64_t classes) {
  std::vector<int64_t> counts(static_cast<size_t>(classes));
  for (int64_t label : labels.to_vector<int64_t>()) ++counts.at(size_t(label));
  return counts;
}

Tensor class_map(const Shape& shape, int64_t classes, int64_t ignored) {
  Tensor map = Tensor::zeros(shape, DType::I64);
  for (int64_t i = 0; i < map.numel(); ++i)
    map.data<int64_t>()[i] = i % 5 == 4 ? ignored : i * 7 % classes;
  return map;
}

Tensor random_classes(const Shape& shape, int64_t classes, uint64_t seed) {
  Rng rng(seed);
  Tensor map = Tensor::zeros(shape, DType::I64);
  for (int64_t i = 0; i < map.numel(); ++i)
    map.data<int64_t>()[i] = int64_t(rng.below(uint64_t(classes)));
  return map;
}

TempDir::TempDir() {
  static int count = 0;
  path_ = (std::filesystem::temp_directory_path() /
           ("soma_test_" + std::to_string(::getpid()) + "_" + std::to_string(count++)))
              .string();
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() { std::filesystem::remove_all(path_); }

std::string TempDir::file(const std::string& name) const { return path_ + "/" + name; }

void TempDir::write(const std::string& name, const std::string& bytes) const {
  std::filesystem::create_directories(std::filesystem::path(file(name)).parent_path());
  io::write_file_atomically(file(name), bytes);
}

std::string gzip(const std::string& bytes) {
  std::string out(compressBound(uLong(bytes.size())) + 32, '\0');
  z_stream s{};
  deflateInit2(&s, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  s.avail_in = uInt(bytes.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = uInt(out.size());
  deflate(&s, Z_FINISH);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

}  // namespace soma::testing
