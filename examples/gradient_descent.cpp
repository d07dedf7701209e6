// Batch, mini-batch and stochastic gradient descent are one optimizer: only the batch size
// differs (all samples, n, or 1). Each fits y = 3x - 2 with a single linear unit.
#include <soma/soma.h>

#include <cstdio>

using namespace soma;

double fit(int64_t batch_size, const Tensor& x, const Tensor& y) {
  manual_seed(1);
  nn::Linear unit(1, 1);
  optim::SGD sgd(unit.parameters(), {.lr = 0.05});
  data::DataLoader loader(std::make_shared<data::TensorDataset>(x, y),
                          {.batch_size = batch_size, .shuffle = true, .seed = 2});
  for (int epoch = 0; epoch < 200; ++epoch) {
    for (const data::Batch& batch : loader) {
      sgd.zero_grad();
      loss::mean_squared_error(unit(batch.input()), batch.target()).backward();
      sgd.step();
    }
  }
  std::printf("batch size %3lld: w = %.4f, b = %.4f\n", (long long)batch_size, unit.weight.item(),
              unit.bias.item());
  return loss::mean_squared_error(unit(x), y).item();
}

int main() {
  Rng rng(0);
  const Tensor x = Tensor::rand({64, 1}, rng) * 2.0 - 1.0;
  const Tensor y = x * 3.0 - 2.0;
  const double batch = fit(64, x, y), mini_batch = fit(8, x, y), stochastic = fit(1, x, y);
  std::printf("final MSE: batch %.2e, mini-batch %.2e, stochastic %.2e\n", batch, mini_batch,
              stochastic);
  return batch < 1e-2 && mini_batch < 1e-4 && stochastic < 1e-4 ? 0 : 1;
}
