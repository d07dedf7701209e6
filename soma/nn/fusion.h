#pragma once
// Layers that run otherwise than one after the other where that gives the same values and
// gradients with fewer passes over memory. Sequential and Graph both ask here, each over the
// chains of layers it has where a layer's output is read by the next alone.
#include <vector>

#include "soma/nn/module.h"

namespace soma::nn {

// `chain` is a layer and up to two that follow it, each reading only the one before, whose
// outputs nothing else reads but the last; `inputs` are what the first reads. When the chain
// starts with layers that run as one op, runs them into y and returns how many it ran; otherwise
// returns 0 and leaves y alone.
size_t forward_fused(const std::vector<Module*>& chain, const std::vector<Tensor>& inputs,
                     Tensor& y);

}  // namespace soma::nn
