#pragma once
// Tensor: an n-dimensional array of one dtype in contiguous row-major storage, 64-byte aligned and
// shared by reference (copying a Tensor copies the handle, never the data). A tensor may take part
// in autograd: it then remembers the node that produced it and, for leaves, holds its gradient.
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <vector>

#include "soma/core/dtype.h"
#include "soma/core/error.h"
#include "soma/core/rng.h"
#include "soma/core/shape.h"

namespace soma {

namespace autograd {
struct Node;
}

// An aligned block of bytes, zero-filled on request. A backend may hold the values in a layout
// of its own instead (oneDNN's channel-blocked activations, which convolutions and pooling read
// and write without reordering): data() then writes them out row-major first, once.
class Storage {
 public:
  // Values held in another arrangement than row-major; to_plain writes them row-major to `data`.
  class Layout {
   public:
    virtual ~Layout() = default;
    virtual void to_plain(void* data) const = 0;
  };

  Storage(size_t bytes, bool zero);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  // The row-major bytes, current: whoever asks may read and write them.
  void* data() const {
    if (held_.load(std::memory_order_acquire)) make_plain();
    return data_;
  }
  size_t bytes() const { return bytes_; }

  // Hands the values over to `layout`; the row-major bytes are stale until data() is called.
  void hold(std::shared_ptr<const Layout> layout);
  // The layout holding the values, or null when the row-major bytes are current.
  std::shared_ptr<const Layout> layout() const;

 private:
  void make_plain() const;

  void* data_;
  size_t bytes_;
  mutable std::mutex mutex_;  // guards layout_: tensors are read from several threads
  mutable std::shared_ptr<const Layout> layout_;
  mutable std::atomic<bool> held_{false};
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements, for views into a larger storage
  Shape shape;
  DType dtype = DType::F32;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;         // accumulated gradient of a leaf
  std::shared_ptr<autograd::Node> grad_fn;  // the op that produced this tensor, if tracked
  uint32_t output_nr = 0;                   // which of grad_fn's outputs this tensor is
};

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor: defined() is false
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Factories. Values are converted to `dtype`.
  // Uninitialised: for outputs a kernel writes in full. Everything else starts from zeros().
  static Tensor empty(const Shape& shape, DType dtype = DType::F32);
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32);
  static Tensor ones(const Shape& shape, DType dtype = DType::F32);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32);
  static Tensor scalar(double value, DType dtype = DType::F32);
  // 1-d tensor start, start + step, ... below end.
  static Tensor arange(double start, double end, double step = 1, DType dtype = DType::F32);
  static Tensor arange(int64_t end, DType dtype = DType::F32) {
    return arange(0, double(end), 1, dtype);
  }
  // Copies numel(shape) values; throws when values.size() differs.
  template <class T>
  static Tensor from(const std::vector<T>& values, const Shape& shape);
  static Tensor from(std::initializer_list<float> values, const Shape& shape) {
    return from(std::vector<float>(values), shape);
  }
  static Tensor rand(const Shape& shape, Rng& rng = default_rng(), DType dtype = DType::F32);
  static Tensor randn(const Shape& shape, Rng& rng = default_rng(), DType dtype = DType::F32);
  static Tensor empty_like(const Tensor& like) { return empty(like.shape(), like.dtype()); }
  static Tensor zeros_like(const Tensor& like) { return zeros(like.shape(), like.dtype()); }

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  int64_t dim() const { return int64_t(shape().size()); }
  int64_t size(int64_t dim) const;  // negative dims count from the end
  int64_t numel() const { return soma::numel(shape()); }
  DType dtype() const { return impl().dtype; }
  size_t nbytes() const { return size_t(numel()) * size_of(dtype()); }

  // Typed access to the elements; throws when T is not the tensor's dtype.
  template <class T>
  T* data() const {
    SOMA_CHECK(dtype() == dtype_of<T>(), "expected a ", name_of(dtype_of<T>()), " tensor, found ",
               name_of(dtype()));
    return static_cast<T*>(raw_data());
  }
  void* raw_data() const;

  // One element, converted to double: item() of a one-element tensor, at({i, j}) by index.
  double item() const;
  double at(std::initializer_list<int64_t> index) const;
  // All elements converted to T, in row-major order.
  template <class T>
  std::vector<T> to_vector() const;

  void fill_(double value) const;
  // Copies the values of `source` (same number of elements, any dtype) into this tensor.
  void copy_(const Tensor& source) const;
  Tensor clone() const;
  Tensor to(DType dtype) const;
  // The same storage under another shape with as many elements. Not tracked by autograd: use
  // reshape() in differentiable code.
  Tensor view(const Shape& shape) const;
  // Elements start .. start + numel(shape) under `shape`, sharing storage; not tracked either.
  Tensor view_at(int64_t start, const Shape& shape) const;

  // Autograd, in PyTorch's words. requires_grad_() marks a leaf whose gradient backward()
  // accumulates into grad(); requires_grad() says whether a tensor is such a leaf or an op's
  // result that depends on one.
  Tensor requires_grad_(bool on = true) const;
  bool requires_grad() const { return defined() && impl().requires_grad; }
  bool is_leaf() const { return defined() && impl().grad_fn == nullptr; }
  Tensor grad() const;
  void set_grad(const Tensor& grad) const;
  // The same data with no history: gradients stop here.
  Tensor detach() const;
  // Back-propagates from this tensor: a scalar seeds with 1, otherwise pass `grad` of its shape.
  // (Defined in soma/autograd.)
  void backward() const;
  void backward(const Tensor& grad) const;

  // Differentiable shorthands for ops in soma/ops.
  Tensor reshape(const Shape& shape) const;
  Tensor sum() const;
  Tensor mean() const;

  TensorImpl& impl() const {
    SOMA_CHECK(impl_ != nullptr, "use of an undefined tensor");
    return *impl_;
  }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& other) const { return impl_ == other.impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// PyTorch-like text: values (elided past a few per row), shape and dtype.
std::ostream& operator<<(std::ostream& out, const Tensor& tensor);

// Throws soma::Error naming `what` when the tensor's shape differs from `expected`.
void check_shape(const Tensor& tensor, const Shape& expected, const char* what);

}  // namespace soma
