// Fits a two-layer network to a noisy curve with plain gradient descent: the smallest
// complete training loop in cajal (data, forward, loss, backward, update), written with
// the core ops only. Prints the loss as it falls; exits with 1 if it does not.
#include <cmath>
#include <cstdio>

#include <cajal/cajal.h>

using namespace cajal;

int main() {
  manual_seed(0);

  // Synthetic data: y = sin(2 x0) + x0 x1 / 2 plus a little noise, for 512 points in [-1.5, 1.5]^2.
  const int64_t n = 512, features = 2, hidden = 32;
  Tensor x = rand({n, features}) * 3 - 1.5;
  Tensor x0 = x.narrow(1, 0, 1), x1 = x.narrow(1, 1, 1);
  Tensor y = sin(x0 * 2) + x0 * x1 * 0.5 + randn({n, 1}) * 0.05;

  // Parameters are leaves that require grad. Weights start at N(0, 1/fan_in), so tanh
  // starts in its steep middle range.
  Tensor w1 = (randn({features, hidden}) / std::sqrt(double(features))).requires_grad_();
  Tensor b1 = zeros({hidden}, {.requires_grad = true});
  Tensor w2 = (randn({hidden, 1}) / std::sqrt(double(hidden))).requires_grad_();
  Tensor b2 = zeros({1}, {.requires_grad = true});
  Tensor* params[] = {&w1, &b1, &w2, &b2};

  const double learning_rate = 0.1;
  const int steps = 2000;
  double first_loss = 0, last_loss = 0;
  std::printf("fitting a %lld-%lld-1 tanh network to %lld points (mean squared error)\n",
              static_cast<long long>(features), static_cast<long long>(hidden), static_cast<long long>(n));
  for (int step = 0; step <= steps; ++step) {
    Tensor hidden_out = tanh(matmul(x, w1) + b1);    // [n, hidden]; b1 broadcasts over rows
    Tensor prediction = matmul(hidden_out, w2) + b2;  // [n, 1]
    Tensor loss = mean(square(prediction - y));
    loss.backward();  // fills w1.grad(), b1.grad(), ...

    // The update must not be recorded: it is not part of the model.
    {
      NoGradGuard no_grad;
      for (Tensor* p : params) {
        p->sub_(p->grad(), learning_rate);
        p->zero_grad();
      }
    }

    last_loss = loss.item();
    if (step == 0) first_loss = last_loss;
    if (step % 200 == 0) std::printf("step %4d  loss %.5f\n", step, last_loss);
  }

  // Predicting the mean of y everywhere scores var(y); a fitted model does far better.
  double baseline = mean(square(y - mean(y))).item();
  std::printf("final loss %.5f (predicting the mean would give %.5f)\n", last_loss, baseline);
  if (!(last_loss < first_loss / 10)) {
    std::printf("error: the loss did not fall tenfold\n");
    return 1;
  }
  return 0;
}
