// A multi-layer perceptron on MNIST, written against the library directly. Usage:
//   mnist_mlp [data root]     (default: $SOMA_DATA, then ~/.cache/soma/datasets)
#include <soma/soma.h>

#include <cstdio>

using namespace soma;

int main(int argc, char** argv) {
  try {
    const std::string root = data::root(argc > 1 ? argv[1] : "");
    const auto to_float = std::make_shared<data::transforms::ToFloat>();
    data::DataLoader train(
        std::make_shared<data::MNIST>(root, data::Split::Train),
        {.batch_size = 128, .shuffle = true, .workers = 1, .seed = 1, .transform = to_float});
    data::DataLoader test(std::make_shared<data::MNIST>(root, data::Split::Test),
                          {.batch_size = 1000, .transform = to_float});

    manual_seed(0);
    nn::Sequential model{nn::Flatten(),        nn::Linear(784, 512), nn::ReLU(),
                         nn::Linear(512, 256), nn::ReLU(),           nn::Linear(256, 10)};
    optim::SGD sgd(model.parameters(), {.lr = 0.05, .momentum = 0.9, .nesterov = true});
    for (int epoch = 1; epoch <= 3; ++epoch) {
      for (const data::Batch& batch : train) {
        sgd.zero_grad();
        loss::sparse_categorical_crossentropy(model(batch.input()), batch.target()).backward();
        sgd.step();
      }
      autograd::NoGradGuard no_grad;
      metrics::SparseCategoricalAccuracy accuracy;
      for (const data::Batch& batch : test) accuracy.update(model(batch.input()), batch.target());
      std::printf("epoch %d: test accuracy %.4f\n", epoch, accuracy.result());
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
