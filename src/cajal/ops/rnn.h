#pragma once
// Recurrent ops: one layer of an RNN, LSTM or GRU run over a whole sequence in one
// direction, and the single-step cells. nn/rnn.h stacks layers and directions on top.
//
// Weights are PyTorch's: w_ih [G*H, F], w_hh [G*H, P], b_ih and b_hh [G*H], w_hr [P, H],
// with G gates (RNN 1, LSTM 4 in the order i, f, g, o, GRU 3 in the order r, z, n), H hidden
// units and P the size of h (an LSTM's proj_size, otherwise H).
//
// Gradients: the forward computes the input projections of all steps in one GEMM and runs
// the time loop in kernels/cpu/rnn; one autograd node per call runs the whole backward
// through time and forms the weight gradients with a few large GEMMs. That backward is
// first order only, as PyTorch's fused RNN kernels: with create_graph the gradients come
// back, but differentiating them again raises an AutogradError.
#include <utility>

#include "cajal/core/tensor.h"
#include "cajal/kernels/cpu/rnn.h"

namespace cajal {

using kernels::RecurrentCell;

// One layer's weights in one direction. Biases and w_hr may be undefined (no bias, no
// projection); w_hr is for LSTM only.
struct RecurrentWeights {
  Tensor w_ih, w_hh, b_ih, b_hh, w_hr;
};

struct RecurrentResult {
  Tensor output;  // [T, N, P], zero at padded steps
  Tensor h_n;     // [N, P]
  Tensor c_n;     // [N, H] (LSTM; undefined otherwise)
};

// Runs `cell` over input [T, N, F] from h0 [N, P] (and c0 [N, H] for LSTM), forward in
// time or, with `reverse`, from step T-1 down to 0. `lengths`: undefined, or an int64 [N]
// tensor of the valid steps of each sequence (1..T); padded steps leave the state as it is
// and get zero outputs, so h_n and c_n are each sequence's state after its last valid step
// (for the reverse direction, each sequence starts at its own last valid step), as with
// PyTorch's packed sequences. `op` names the caller in error messages ("LSTM").
RecurrentResult recurrent_layer(RecurrentCell cell, const Tensor& input, const Tensor& h0, const Tensor& c0,
                                const RecurrentWeights& weights, const Tensor& lengths = {}, bool reverse = false,
                                const char* op = nullptr);

// One step, as torch's cells: x [N, F] or unbatched [F], h [N, H] or [H] (c likewise).
Tensor rnn_tanh_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh,
                     const Tensor& b_ih = {}, const Tensor& b_hh = {});
Tensor rnn_relu_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh,
                     const Tensor& b_ih = {}, const Tensor& b_hh = {});
Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih = {},
                const Tensor& b_hh = {});
// Returns (h', c').
std::pair<Tensor, Tensor> lstm_cell(const Tensor& x, const Tensor& h, const Tensor& c, const Tensor& w_ih,
                                    const Tensor& w_hh, const Tensor& b_ih = {}, const Tensor& b_hh = {});

}  // namespace cajal
