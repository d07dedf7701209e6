// The single neuron: y = sigmoid(w·x + b), trained by gradient descent to compute logical AND.
#include <soma/soma.h>

#include <cstdio>

using namespace soma;

int main() {
  manual_seed(0);
  const Tensor x = Tensor::from({0, 0, 0, 1, 1, 0, 1, 1}, {4, 2});
  const Tensor y = Tensor::from({0, 0, 0, 1}, {4, 1});

  nn::Sequential neuron{nn::Linear(2, 1), nn::Sigmoid()};
  optim::SGD sgd(neuron.parameters(), {.lr = 0.5});
  for (int step = 0; step < 2000; ++step) {
    sgd.zero_grad();
    const Tensor loss = loss::binary_crossentropy(neuron(x), y);
    loss.backward();
    sgd.step();
  }

  const Tensor out = neuron(x);
  int correct = 0;
  for (int64_t i = 0; i < 4; ++i) {
    std::printf("%g AND %g -> %.3f\n", x.at({i, 0}), x.at({i, 1}), out.at({i, 0}));
    correct += (out.at({i, 0}) > 0.5) == (y.at({i, 0}) > 0.5);
  }
  std::printf("%d/4 correct\n", correct);
  return correct == 4 ? 0 : 1;
}
