#pragma once
// Parameter initialization, as torch.nn.init: each function fills a tensor in place
// (without recording history) and returns it. The random ones draw from `gen`, or the
// default generator when it is null.
#include <optional>
#include <string>
#include <utility>

#include "cajal/core/generator.h"
#include "cajal/core/tensor.h"

namespace cajal::nn::init {

// While one lives (on this thread), the random initializers (uniform_, normal_ and those
// built on them, orthogonal_, trunc_normal_) leave tensors as they are, drawing nothing:
// for modules built only to receive every weight from a file (cli::load_model), as
// torch.nn.utils.skip_init. Layers' constant fills (biases, batch norm) still happen.
class SkipInitGuard {
 public:
  SkipInitGuard();
  ~SkipInitGuard();
  SkipInitGuard(const SkipInitGuard&) = delete;
  SkipInitGuard& operator=(const SkipInitGuard&) = delete;
  static bool active();

 private:
  bool previous_;
};

// Which fan scales the variance in Kaiming init: fan_in keeps the forward pass's variance,
// fan_out the backward pass's.
enum class FanMode { FanIn, FanOut };

// The recommended gain for a nonlinearity, as torch.nn.init.calculate_gain: 1 for
// "linear", "conv1d" ... "conv_transpose3d" and "sigmoid"; 5/3 for "tanh"; sqrt(2) for
// "relu"; sqrt(2 / (1 + slope^2)) for "leaky_relu" (slope = param, 0.01 if none); 3/4 for "selu".
double calculate_gain(const std::string& nonlinearity, std::optional<double> param = std::nullopt);

// {fan_in, fan_out} of a weight of at least 2 dims: size(1) and size(0), each times the
// product of the remaining dims (a conv kernel's receptive field).
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t);

Tensor uniform_(const Tensor& t, double a = 0, double b = 1, Generator* gen = nullptr);
Tensor normal_(const Tensor& t, double mean = 0, double std = 1, Generator* gen = nullptr);
Tensor constant_(const Tensor& t, double value);
Tensor zeros_(const Tensor& t);
Tensor ones_(const Tensor& t);

// Glorot: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)), or N(0, std^2) with
// std = gain * sqrt(2 / (fan_in + fan_out)).
Tensor xavier_uniform_(const Tensor& t, double gain = 1, Generator* gen = nullptr);
Tensor xavier_normal_(const Tensor& t, double gain = 1, Generator* gen = nullptr);

// He: std = gain / sqrt(fan) with gain = calculate_gain(nonlinearity, a); the uniform
// version draws from U(-sqrt(3) std, sqrt(3) std).
Tensor kaiming_uniform_(const Tensor& t, double a = 0, FanMode mode = FanMode::FanIn,
                        const std::string& nonlinearity = "leaky_relu", Generator* gen = nullptr);
Tensor kaiming_normal_(const Tensor& t, double a = 0, FanMode mode = FanMode::FanIn,
                       const std::string& nonlinearity = "leaky_relu", Generator* gen = nullptr);

// A (semi-)orthogonal matrix times gain: the Q of the QR decomposition of a normal random
// [size(0), numel / size(0)] matrix, with R's diagonal made positive (Saxe et al. 2013).
Tensor orthogonal_(const Tensor& t, double gain = 1, Generator* gen = nullptr);

// N(mean, std^2) truncated to [a, b], by inverting the normal CDF on a uniform draw.
Tensor trunc_normal_(const Tensor& t, double mean = 0, double std = 1, double a = -2, double b = 2,
                     Generator* gen = nullptr);

}  // namespace cajal::nn::init
