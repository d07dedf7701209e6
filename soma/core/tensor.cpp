#include "soma/core/tensor.h"

#include "soma/core/allocator.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <ostream>

namespace soma {

Storage::Storage(size_t bytes, bool zero) : data_(allocate_block(bytes)), bytes_(bytes) {
  if (zero) std::memset(data_, 0, bytes);
}

Storage::~Storage() { release_block(data_, bytes_); }

void Storage::hold(std::shared_ptr<const Layout> layout) {
  std::lock_guard lock(mutex_);
  layout_ = std::move(layout);
  held_.store(layout_ != nullptr, std::memory_order_release);
}

std::shared_ptr<const Storage::Layout> Storage::layout() const {
  if (!held_.load(std::memory_order_acquire)) return nullptr;
  std::lock_guard lock(mutex_);
  return layout_;
}

void Storage::make_plain() const {
  std::lock_guard lock(mutex_);
  if (!layout_) return;  // another thread was first
  layout_->to_plain(data_);
  layout_.reset();
  held_.store(false, std::memory_order_release);
}

namespace {

// Calls fn with a typed pointer to the data: the one place that switches on dtype.
template <class Fn>
void visit(DType dtype, void* data, Fn&& fn) {
  switch (dtype) {
    case DType::F32:
      return fn(static_cast<float*>(data));
    case DType::F64:
      return fn(static_cast<double*>(data));
    case DType::I64:
      return fn(static_cast<int64_t*>(data));
    case DType::U8:
      return fn(static_cast<uint8_t*>(data));
    case DType::BF16:
      return fn(static_cast<bfloat16*>(data));
  }
}

}  // namespace

namespace {

Tensor allocate(const Shape& shape, DType dtype, bool zero) {
  for (int64_t extent : shape)
    SOMA_CHECK(extent >= 0, "shapes have non-negative extents, found ", to_string(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(size_t(soma::numel(shape)) * size_of(dtype), zero);
  impl->shape = shape;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype) { return allocate(shape, dtype, false); }
Tensor Tensor::zeros(const Shape& shape, DType dtype) { return allocate(shape, dtype, true); }
Tensor Tensor::ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype) {
  Tensor t = empty(shape, dtype);
  t.fill_(value);
  return t;
}

Tensor Tensor::scalar(double value, DType dtype) { return full({}, value, dtype); }

Tensor Tensor::arange(double start, double end, double step, DType dtype) {
  SOMA_CHECK(step != 0, "arange: step must be non-zero");
  const int64_t n = std::max<int64_t>(0, int64_t(std::ceil((end - start) / step)));
  Tensor t = empty({n}, dtype);
  visit(dtype, t.raw_data(), [&](auto* p) {
    for (int64_t i = 0; i < n; ++i)
      p[i] = static_cast<std::remove_pointer_t<decltype(p)>>(start + double(i) * step);
  });
  return t;
}

template <class T>
Tensor Tensor::from(const std::vector<T>& values, const Shape& shape) {
  SOMA_CHECK(int64_t(values.size()) == soma::numel(shape), "Tensor::from: shape ", to_string(shape),
             " needs ", soma::numel(shape), " values, found ", values.size());
  Tensor t = empty(shape, dtype_of<T>());
  std::copy(values.begin(), values.end(), t.data<T>());
  return t;
}
template Tensor Tensor::from(const std::vector<float>&, const Shape&);
template Tensor Tensor::from(const std::vector<double>&, const Shape&);
template Tensor Tensor::from(const std::vector<int64_t>&, const Shape&);
template Tensor Tensor::from(const std::vector<uint8_t>&, const Shape&);

Tensor Tensor::rand(const Shape& shape, Rng& rng, DType dtype) {
  Tensor t = empty(shape, dtype);
  if (dtype == DType::F64) {
    rng.uniform(t.data<double>(), t.numel());
  } else {
    Tensor f = dtype == DType::F32 ? t : empty(shape);
    rng.uniform(f.data<float>(), f.numel());
    if (dtype != DType::F32) t.copy_(f);
  }
  return t;
}

Tensor Tensor::randn(const Shape& shape, Rng& rng, DType dtype) {
  SOMA_CHECK(dtype == DType::F32 || dtype == DType::F64, "randn: expected f32 or f64, found ",
             name_of(dtype));
  Tensor t = empty(shape, dtype);
  if (dtype == DType::F64)
    rng.normal(t.data<double>(), t.numel());
  else
    rng.normal(t.data<float>(), t.numel());
  return t;
}

int64_t Tensor::size(int64_t d) const { return shape()[size_t(normalize_dim(d, dim()))]; }

void* Tensor::raw_data() const {
  return static_cast<char*>(impl().storage->data()) + impl().offset * int64_t(size_of(dtype()));
}

double Tensor::item() const {
  SOMA_CHECK(numel() == 1, "item(): expected a one-element tensor, found shape ",
             to_string(shape()));
  double value = 0;
  visit(dtype(), raw_data(), [&](auto* p) { value = double(p[0]); });
  return value;
}

double Tensor::at(std::initializer_list<int64_t> index) const {
  SOMA_CHECK(int64_t(index.size()) == dim(), "at(): expected ", dim(), " indices, found ",
             index.size());
  int64_t flat = 0, d = 0;
  for (int64_t i : index) {
    const int64_t extent = shape()[size_t(d)];
    SOMA_CHECK(i >= 0 && i < extent, "at(): index ", i, " is out of range for dimension ", d,
               " of shape ", to_string(shape()));
    flat = flat * extent + i;
    ++d;
  }
  double value = 0;
  visit(dtype(), raw_data(), [&](auto* p) { value = double(p[flat]); });
  return value;
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  std::vector<T> out(static_cast<size_t>(numel()));
  visit(dtype(), raw_data(), [&](auto* p) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<T>(p[i]);
  });
  return out;
}
template std::vector<float> Tensor::to_vector() const;
template std::vector<double> Tensor::to_vector() const;
template std::vector<int64_t> Tensor::to_vector() const;
template std::vector<uint8_t> Tensor::to_vector() const;

void Tensor::fill_(double value) const {
  visit(dtype(), raw_data(), [&](auto* p) {
    std::fill(p, p + numel(), static_cast<std::remove_pointer_t<decltype(p)>>(value));
  });
}

void Tensor::copy_(const Tensor& source) const {
  SOMA_CHECK(source.numel() == numel(), "copy_: expected ", numel(), " elements, found ",
             source.numel(), " (shapes ", to_string(shape()), " and ", to_string(source.shape()),
             ")");
  if (source.dtype() == dtype()) {
    std::memmove(raw_data(), source.raw_data(), nbytes());
    return;
  }
  visit(dtype(), raw_data(), [&](auto* dst) {
    visit(source.dtype(), source.raw_data(), [&](auto* src) {
      using T = std::remove_pointer_t<decltype(dst)>;
      for (int64_t i = 0, n = numel(); i < n; ++i) dst[i] = static_cast<T>(src[i]);
    });
  });
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape(), dtype());
  t.copy_(*this);
  return t;
}

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  Tensor t = empty(shape(), target);
  t.copy_(*this);
  return t;
}

Tensor Tensor::view(const Shape& new_shape) const {
  SOMA_CHECK(soma::numel(new_shape) == numel(), "cannot view shape ", to_string(shape()), " as ",
             to_string(new_shape));
  return view_at(0, new_shape);
}

Tensor Tensor::view_at(int64_t start, const Shape& new_shape) const {
  SOMA_CHECK(start >= 0 && start + soma::numel(new_shape) <= numel(), "cannot view ",
             to_string(new_shape), " at element ", start, " of ", to_string(shape()));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = this->impl().storage;
  impl->offset = this->impl().offset + start;
  impl->shape = new_shape;
  impl->dtype = dtype();
  return Tensor(std::move(impl));
}

Tensor Tensor::requires_grad_(bool on) const {
  SOMA_CHECK(!on || is_floating(dtype()),
             "only floating-point tensors can require gradients, found ", name_of(dtype()));
  impl().requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const { return Tensor(impl().grad); }

void Tensor::set_grad(const Tensor& grad) const {
  if (grad.defined()) check_shape(grad, shape(), "gradient");
  impl().grad = grad.impl_ptr();
}

Tensor Tensor::detach() const {
  Tensor t = view(shape());
  return t;
}

std::ostream& operator<<(std::ostream& out, const Tensor& t) {
  if (!t.defined()) return out << "tensor(undefined)";
  const std::vector<double> values = t.to_vector<double>();
  const int64_t row = t.dim() ? t.shape().back() : 1;
  constexpr int64_t kEdge = 3;
  out << "tensor([";
  const int64_t rows = row ? int64_t(values.size()) / row : 0;
  for (int64_t r = 0; r < rows; ++r) {
    if (rows > 2 * kEdge && r == kEdge) {
      out << (r ? "\n        " : "") << "...";
      r = rows - kEdge - 1;
      continue;
    }
    if (r) out << ",\n        ";
    out << "[";
    for (int64_t c = 0; c < row; ++c) {
      if (row > 2 * kEdge && c == kEdge) {
        out << ", ...";
        c = row - kEdge - 1;
        continue;
      }
      out << (c ? ", " : "") << std::setprecision(5) << values[size_t(r * row + c)];
    }
    out << "]";
  }
  return out << "], shape=" << to_string(t.shape()) << ", " << name_of(t.dtype()) << ")";
}

void check_shape(const Tensor& tensor, const Shape& expected, const char* what) {
  SOMA_CHECK(tensor.shape() == expected, what, ": expected shape ", to_string(expected), ", found ",
             to_string(tensor.shape()));
}

}  // namespace soma
