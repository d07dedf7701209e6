#pragma once
// The autograd graph: each tracked tensor points to the Node of the op that produced it (and says
// which of its outputs it is); a Node holds the op's inputs and its backward rule. record() is how
// an op with one output joins the graph, record_outputs() how one with several does.
#include <functional>
#include <vector>

#include "soma/core/tensor.h"

namespace soma::autograd {

// The gradient buffers an op's backward rule accumulates into, one per input. A buffer is made
// on first use and only for inputs that need a gradient: check needs(i) before computing a
// gradient that may not be wanted.
class Grads {
 public:
  Grads(const std::vector<Tensor>& inputs, std::vector<Tensor>& buffers, Tensor output)
      : inputs_(inputs), buffers_(buffers), output(std::move(output)) {}
  bool needs(size_t i) const { return inputs_[i].requires_grad(); }
  // Input i's buffer, zero-filled when new: the rule adds its gradient into it.
  Tensor& operator[](size_t i);

  // For rules that can write instead of add (a matmul with beta = 0 skips zero-filling and
  // re-reading a weight-sized buffer): the buffer, and whether it holds a gradient already.
  struct Target {
    Tensor buffer;
    bool accumulate;
  };
  Target target(size_t i);

  // For a pass-through (a residual connection's add): t (dy, or a gradient the rule made) becomes
  // input i's gradient, copying nothing, where the input is not a leaf and has no gradient yet.
  // Several inputs may take one tensor, the caller's seed too: a gradient that another tensor
  // holds is copied before anything adds into it. Returns whether it did.
  bool take(size_t i, const Tensor& t);

 private:
  const std::vector<Tensor>& inputs_;
  std::vector<Tensor>& buffers_;

 public:
  // The op's result, for rules that need it (sigmoid, softmax). Handed in rather than captured
  // so that a node does not keep its own output alive. Undefined for an op with several outputs.
  const Tensor output;
};

// dy is the gradient of the op's output; the rule adds each input's gradient into g[i].
using BackwardFn = std::function<void(const Tensor& dy, Grads& g)>;
// For an op with several outputs: dys[k] is the gradient of output k, undefined where nothing
// that the backward pass reaches used that output.
using OutputsBackwardFn = std::function<void(const std::vector<Tensor>& dys, Grads& g)>;

struct Node {
  std::vector<Tensor> inputs;
  BackwardFn backward;                 // an op with one output, or
  OutputsBackwardFn backward_outputs;  // one with `outputs` of them
  size_t outputs = 1;
  // Releases the graph above this node without recursion: a long chain (an unrolled RNN)
  // destroyed node by node would overflow the stack.
  ~Node();
};

// Whether ops record the graph on this thread (true unless a NoGradGuard is alive).
bool grad_enabled();

// Turns recording off for its lifetime, as torch.no_grad(): evaluation and optimizer steps.
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Makes `output` the result of an op on `inputs` with the given backward rule, when recording is
// on and some input needs a gradient. Returns `output`.
Tensor record(Tensor output, std::vector<Tensor> inputs, BackwardFn backward);

// The same for an op with several outputs, each with its own gradient: the rule runs once, after
// every output's consumers, and an output nothing used gets no gradient (an undefined dys[k]).
// Returns `outputs`.
std::vector<Tensor> record_outputs(std::vector<Tensor> outputs, std::vector<Tensor> inputs,
                                   OutputsBackwardFn backward);

// Back-propagates `grad` (the gradient of `root`) through the graph, accumulating into the
// .grad() of every leaf that requires it.
void backward(const Tensor& root, const Tensor& grad);

}  // namespace soma::autograd
