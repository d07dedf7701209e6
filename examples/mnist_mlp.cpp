// A multi-layer perceptron on MNIST, written against the library directly. Usage:
//   mnist_mlp [data root]     (default: $SOMA_DATA, then ~/.cache/soma/datasets)
#include <soma/soma.h>

#include <cstdio>

using namespace soma;

int main(int argc, char** argv) {
  try {
    const std::string folder = data::find_dataset("mnist", argc > 1 ? argv[1] : "");
    const data::ImageSet train = data::load_mnist(folder, data::Split::Train);
    const data::ImageSet test = data::load_mnist(folder, data::Split::Test);
    const Tensor x = data::flatten_images(train.images), x_test = data::flatten_images(test.images);

    manual_seed(0);
    nn::Sequential model{nn::Linear(784, 512), nn::ReLU(), nn::Linear(512, 256), nn::ReLU(),
                         nn::Linear(256, 10)};
    optim::SGD sgd(model.parameters(), {.lr = 0.05, .momentum = 0.9, .nesterov = true});
    Rng rng(1);
    for (int epoch = 1; epoch <= 3; ++epoch) {
      const std::vector<int64_t> order = data::epoch_order(x.size(0), true, rng);
      for (int64_t begin = 0; begin < x.size(0); begin += 128) {
        const int64_t end = std::min<int64_t>(x.size(0), begin + 128);
        sgd.zero_grad();
        loss::sparse_categorical_crossentropy(model(data::take_rows(x, order, begin, end)),
                                              data::take_rows(train.labels, order, begin, end))
            .backward();
        sgd.step();
      }
      autograd::NoGradGuard no_grad;
      metrics::SparseCategoricalAccuracy accuracy;
      accuracy.update(model(x_test), test.labels);
      std::printf("epoch %d: test accuracy %.4f\n", epoch, accuracy.result());
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
