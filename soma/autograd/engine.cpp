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

namespace {

// Whether an op on `inputs` joins the graph.
bool recorded(const std::vector<Tensor>& inputs) {
  if (!recording) return false;
  for (const Tensor& input : inputs)
    if (input.requires_grad()) return true;
  return false;
}

}  // namespace

Tensor record(Tensor output, std::vector<Tensor> inputs, BackwardFn backward) {
  if (!recorded(inputs)) return output;
  auto node = std::make_shared<Node>();
  node->inputs = std::move(inputs);
  node->backward = std::move(backward);
  output.impl().requires_grad = true;
  output.impl().grad_fn = std::move(node);
  return output;
}

std::vector<Tensor> record_outputs(std::vector<Tensor> outputs, std::vector<Tensor> inputs,
                                   OutputsBackwardFn backward) {
  if (!recorded(inputs)) return outputs;
  auto node = std::make_shared<Node>();
  node->inputs = std::move(inputs);
  node->backward_outputs = std::move(backward);
  node->outputs = outputs.size();
  for (size_t k = 0; k < outputs.size(); ++k) {
    TensorImpl& impl = outputs[k].impl();
    SOMA_CHECK(!impl.grad_fn, "internal: output ", k, " of an op already has one");
    impl.requires_grad = true;
    impl.grad_fn = node;
    impl.output_nr = uint32_t(k);
  }
  return outputs;
}

namespace {

// What has flowed into one node's outputs so far: a gradient per output (undefined while none has)
// and the outputs themselves, as the walk met them.
struct Flowed {
  std::vector<Tensor> grads;
  std::vector<TensorImpl*> outputs;
};

}  // namespace

void backward(const Tensor& root, const Tensor& grad) {
  SOMA_CHECK(root.requires_grad(), "backward(): the tensor does not require a gradient");
  check_shape(grad, root.shape(), "backward() gradient");
  if (root.is_leaf()) {
    // Nothing to walk: the seed is the leaf's gradient.
    if (!root.grad().defined()) root.set_grad(Tensor::zeros_like(root));
    accumulate(root.grad(), grad);
    return;
  }

  // Nodes in depth-first post-order, without recursion, so long chains (unrolled RNNs) cannot
  // overflow: a node comes after every node that reads one of its outputs.
  std::vector<Node*> order;
  std::unordered_set<Node*> seen;
  std::vector<std::pair<Node*, size_t>> stack{{root.impl().grad_fn.get(), 0}};
  seen.insert(stack.back().first);
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    const auto& inputs = node->inputs;
    if (next < inputs.size()) {
      // An op may list an optional input it was not given (an RNN without bias) as undefined.
      TensorImpl* child = inputs[next++].impl_ptr().get();
      if (child && child->grad_fn && seen.insert(child->grad_fn.get()).second)
        stack.push_back({child->grad_fn.get(), 0});
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }

  // Gradients of the non-leaf tensors, by the node that made them, filled as the walk reaches
  // their consumers.
  std::unordered_map<Node*, Flowed> pending;
  auto slot = [&pending](TensorImpl& t) -> Tensor& {
    Flowed& flowed = pending[t.grad_fn.get()];
    if (flowed.grads.empty()) {
      flowed.grads.resize(t.grad_fn->outputs);
      flowed.outputs.resize(t.grad_fn->outputs);
    }
    flowed.outputs[t.output_nr] = &t;
    return flowed.grads[t.output_nr];
  };
  slot(root.impl()) = grad;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node& node = **it;
    auto found = pending.find(&node);
    if (found == pending.end()) continue;  // nothing flowed here
    const Flowed flowed = std::move(found->second);
    pending.erase(found);

    // Existing buffers are a leaf's .grad() and an inner tensor's pending gradient; the rule
    // adds into them, so several consumers of one tensor sum their contributions.
    std::vector<Tensor> buffers(node.inputs.size());
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const Tensor& input = node.inputs[i];
      if (!input.requires_grad()) continue;
      if (input.is_leaf()) {
        buffers[i] = input.grad();
      } else if (auto made = pending.find(input.impl().grad_fn.get()); made != pending.end()) {
        // Moved, not copied: the rule's buffer is then the only handle on a gradient of its own.
        buffers[i] = std::move(made->second.grads[input.impl().output_nr]);
      }
    }
    if (node.backward) {
      // A non-owning handle: the graph keeps the output alive while the walk runs.
      Tensor output(std::shared_ptr<TensorImpl>(std::shared_ptr<TensorImpl>{}, flowed.outputs[0]));
      Grads grads(node.inputs, buffers, output);
      node.backward(flowed.grads[0], grads);
    } else {
      Grads grads(node.inputs, buffers, Tensor());
      node.backward_outputs(flowed.grads, grads);
    }
    // Keep the buffers the rule made. An input that appears twice (x * x) may have got two
    // buffers: the second adds into the first.
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      if (!buffers[i].defined()) continue;
      const Tensor& input = node.inputs[i];
      if (!input.is_leaf()) {
        // Moved out of `pending` above, an inner tensor's gradient is in one buffer only, unless
        // a rule handed the same one to two of its inputs, the same tensor twice (a + a): two
        // contributions either way.
        Tensor& existing = slot(input.impl());
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
