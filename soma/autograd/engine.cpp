// The backward engine: a topological order of the graph, then each node's rule in reverse.
#include <unordered_map>
#include <unordered_set>

#include "soma/autograd/node.h"

namespace soma::autograd {
namespace {
thread_local bool recording = true;

// dst += src, elementwise (same shape and dtype).
void accumulate(const Tensor& dst, const Tensor& src) {
  check_shape(src, dst.shape(), "gradient");
  const Tensor converted = src.to(dst.dtype());
  if (dst.dtype() == DType::F64) {
    double* d = dst.data<double>();
    const double* s = converted.data<double>();
    for (int64_t i = 0, n = dst.numel(); i < n; ++i) d[i] += s[i];
  } else {
    float* d = dst.data<float>();
    const float* s = converted.data<float>();
    for (int64_t i = 0, n = dst.numel(); i < n; ++i) d[i] += s[i];
  }
}

}  // namespace

bool grad_enabled() { return recording; }
NoGradGuard::NoGradGuard() : previous_(recording) { recording = false; }
NoGradGuard::~NoGradGuard() { recording = previous_; }

namespace {

// Whether an inner tensor's gradient about to be added into in place is another's too: one handed
// to two inputs (see Grads::take), or the caller's seed, which the caller holds. Those are copied
// first. (A leaf's is its own: take hands nothing to leaves.)
bool shared(const Tensor& t) {
  return t.impl_ptr().use_count() > 1 || t.impl().storage.use_count() > 1;
}

}  // namespace

Tensor& Grads::operator[](size_t i) {
  SOMA_CHECK(needs(i), "internal: gradient requested for input ", i, " that does not need one");
  if (!buffers_[i].defined()) buffers_[i] = Tensor::zeros_like(inputs_[i]);
  if (!inputs_[i].is_leaf() && shared(buffers_[i])) buffers_[i] = buffers_[i].clone();
  return buffers_[i];
}

Grads::Target Grads::target(size_t i) {
  SOMA_CHECK(needs(i), "internal: gradient requested for input ", i, " that does not need one");
  if (buffers_[i].defined()) {
    if (!inputs_[i].is_leaf() && shared(buffers_[i])) buffers_[i] = buffers_[i].clone();
    return {buffers_[i], true};
  }
  buffers_[i] = Tensor::empty_like(inputs_[i]);
  return {buffers_[i], false};
}

bool Grads::take(size_t i, const Tensor& t) {
  SOMA_CHECK(needs(i), "internal: gradient requested for input ", i, " that does not need one");
  if (inputs_[i].is_leaf() || buffers_[i].defined()) return false;
  buffers_[i] = t;
  return true;
}

Node::~Node() {
  std::vector<std::shared_ptr<Node>> orphans;
  auto release = [&orphans](Node& node) {
    node.backward = nullptr;  // its captures may share the inputs
    for (Tensor& input : node.inputs) {
      const auto& impl = input.impl_ptr();
      if (impl && impl.use_count() == 1 && impl->grad_fn && impl->grad_fn.use_count() == 1)
        orphans.push_back(std::move(impl->grad_fn));
    }
    node.inputs.clear();
  };
  release(*this);
  while (!orphans.empty()) {
    std::shared_ptr<Node> node = std::move(orphans.back());
    orphans.pop_back();
    release(*node);
  }
}

Tensor record(Tensor output, std::vector<Tensor> inputs, BackwardFn backward) {
  if (!recording) return output;
  bool any = false;
  for (const Tensor& input : inputs) any = any || input.needs_grad();
  if (!any) return output;
  output.impl().requires_grad = true;
  output.impl().grad_fn = std::make_shared<Node>(Node{std::move(inputs), std::move(backward)});
  return output;
}

void backward(const Tensor& root, const Tensor& grad) {
  SOMA_CHECK(root.needs_grad(), "backward(): the tensor does not require a gradient");
  check_shape(grad, root.shape(), "backward() gradient");
  if (root.is_leaf()) {
    // Nothing to walk: the seed is the leaf's gradient.
    if (!root.grad().defined()) root.set_grad(Tensor::zeros_like(root));
    accumulate(root.grad(), grad);
    return;
  }

  // Depth-first post-order without recursion, so long chains (unrolled RNNs) cannot overflow.
  std::vector<TensorImpl*> order;
  std::unordered_set<TensorImpl*> seen;
  std::vector<std::pair<TensorImpl*, size_t>> stack{{&root.impl(), 0}};
  seen.insert(&root.impl());
  while (!stack.empty()) {
    auto& [impl, next] = stack.back();
    const auto& inputs = impl->grad_fn->inputs;
    if (next < inputs.size()) {
      // An op may list an optional input it was not given (an RNN without bias) as undefined.
      TensorImpl* child = inputs[next++].impl_ptr().get();
      if (child && child->grad_fn && seen.insert(child).second) stack.push_back({child, 0});
    } else {
      order.push_back(impl);
      stack.pop_back();
    }
  }

  // Gradients of the non-leaf tensors, filled as the walk reaches their consumers.
  std::unordered_map<TensorImpl*, Tensor> pending;
  pending[&root.impl()] = grad;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    TensorImpl* impl = *it;
    auto found = pending.find(impl);
    if (found == pending.end()) continue;  // nothing flowed here
    const Tensor dy = std::move(found->second);
    pending.erase(found);

    const Node& node = *impl->grad_fn;
    // Existing buffers are a leaf's .grad() and an inner tensor's pending gradient; the rule
    // adds into them, so several consumers of one tensor sum their contributions.
    std::vector<Tensor> buffers(node.inputs.size());
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const Tensor& input = node.inputs[i];
      if (!input.needs_grad()) continue;
      if (input.is_leaf()) {
        buffers[i] = input.grad();
      } else if (auto slot = pending.find(&input.impl()); slot != pending.end()) {
        // Moved, not copied: the rule's buffer is then the only handle on a gradient of its own.
        buffers[i] = std::move(slot->second);
        pending.erase(slot);
      }
    }
    // A non-owning handle: the graph keeps the output alive while the walk runs.
    Tensor output(std::shared_ptr<TensorImpl>(std::shared_ptr<TensorImpl>{}, impl));
    Grads grads(node.inputs, buffers, output);
    node.backward(dy, grads);
    // Keep the buffers the rule made. An input that appears twice (x * x) may have got two
    // buffers: the second adds into the first.
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      if (!buffers[i].defined()) continue;
      const Tensor& input = node.inputs[i];
      if (!input.is_leaf()) {
        // Moved out of `pending` above, an inner tensor's gradient is in one buffer only, unless
        // a rule handed the same one to two of its inputs, the same tensor twice (a + a): two
        // contributions either way.
        Tensor& existing = pending[&input.impl()];
        if (!existing.defined()) {
          existing = buffers[i];
        } else {
          if (shared(existing)) existing = existing.clone();
          accumulate(existing, buffers[i]);
        }
        continue;
      }
      const Tensor existing = input.grad();
      if (!existing.defined())
        input.set_grad(buffers[i]);
      else if (!existing.same(buffers[i]))
        accumulate(existing, buffers[i]);
    }
  }
}

}  // namespace soma::autograd

namespace soma {

void Tensor::backward() const {
  SOMA_CHECK(numel() == 1,
             "backward(): without a gradient argument the tensor must be a scalar, "
             "found shape ",
             to_string(shape()));
  autograd::backward(*this, Tensor::ones(shape(), dtype()));
}

void Tensor::backward(const Tensor& grad) const { autograd::backward(*this, grad); }

}  // namespace soma
