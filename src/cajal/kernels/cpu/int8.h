#pragma once
// int8 inference kernels: uint8 activations (channels last: [N, H, W, C] images, [N, K]
// features) times int8 weights, accumulated in int32, then requantized per output channel:
//
//   y = (float(acc) + bias[c]) * scale[c] + zero_point      (bias in accumulator units)
//
// rounded to nearest even and saturated to uint8 [0, 255], or kept as float32 (a model's
// last layer). With zero_point 0, saturation at 0 is the ReLU of a fused layer. oneDNN's
// int8 primitives (VNNI where the CPU has it) run these when cajal is built with it; plain
// loops otherwise. Each layer is prepared once (its primitive and its weights in the layout
// the primitive chose are made per batch size and kept).
#include <memory>

#include "cajal/kernels/cpu/conv.h"

namespace cajal::kernels::int8 {

struct Requantize {
  Tensor scale;           // float32 [O]
  Tensor bias;            // float32 [O], in accumulator units (bias / (input scale * weight scale))
  float zero_point = 0;   // of the uint8 output
  bool float_output = false;
  uint8_t input_zero_point = 0;  // the code a convolution's padding holds (the input's zero point: real 0)
};

// A convolution (groups 1) of uint8 NHWC inputs with int8 weights [O, C, kH, kW]. The
// geometry's batch is ignored (each call's own).
class Conv {
 public:
  Conv(const Tensor& weight, const ConvGeometry& geometry, Requantize requantize);
  ~Conv();
  Tensor operator()(const Tensor& x) const;  // uint8 [N, H, W, C] -> uint8 [N, OH, OW, O]

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A fully connected layer: uint8 [N, K] times int8 weights [O, K].
class Linear {
 public:
  Linear(const Tensor& weight, Requantize requantize);
  ~Linear();
  Tensor operator()(const Tensor& x) const;  // -> uint8 [N, O], or float32 with float_output

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// uint8 codes of a float32 tensor: clamp(zero_point + round(x * (1 / scale)), 0, 255), as
// torch.quantize_per_tensor computes them (round half to even).
Tensor quantize_u8(const Tensor& x, float scale, float zero_point);

// Max pooling of uint8 NHWC codes (the maximum commutes with quantization).
Tensor max_pool(const Tensor& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride, std::array<int64_t, 2> pad);

}  // namespace cajal::kernels::int8
