#pragma once
// Recurrent layers on the CPU: the time loop of one layer in one direction, forward and
// its backward through time (BPTT). No autograd: ops/rnn.cpp checks shapes, computes the
// input projections of all steps in one GEMM, records the gradient and calls these.
//
// Per step the forward runs one GEMM (h_prev @ w_hh^T, plus h_cell @ w_hr^T with a
// projection) and one pass over the gates that applies the nonlinearities and writes the
// new state. The backward mirrors it: one pass for the gate gradients and one GEMM for the
// gradient flowing into h_prev; the weight gradients are left to the caller, who gets the
// gate gradients of every step and forms them with a few large GEMMs.
//
// Sizes: T steps, N sequences, H hidden units, P the size of h (proj_size, or H), G gates
// (RNN 1, LSTM 4 in PyTorch's order i, f, g, o, GRU 3 in the order r, z, n). Every tensor is
// contiguous, float32 or float64, all of one dtype. Steps are indexed by time: the reverse
// direction runs t = T-1 down to 0, and its "previous" step is t + 1.
//
// Variable lengths: `active` [T, N] (uint8) marks the steps that belong to each sequence. An
// inactive step leaves the state unchanged (so a forward sequence ends with the state of its
// last valid step, and a reverse one starts from h0 at its own last valid step), and its gate
// values and gradients are zero, so it adds nothing to the weight gradients.
#include "cajal/core/tensor.h"

namespace cajal::kernels {

enum class RecurrentCell { RnnTanh, RnnRelu, Lstm, Gru };

// Gates per hidden unit: 1 for RNNs, 4 for LSTM, 3 for GRU.
int64_t gate_count(RecurrentCell cell);
// Values per hidden unit each step keeps for backward: LSTM i, f, g, o; GRU r, z, n and
// (h_prev @ w_hn^T + b_hn); none for RNNs, whose derivative comes from h itself.
int64_t saved_count(RecurrentCell cell);

struct RecurrentForward {
  RecurrentCell cell;
  bool reverse = false;
  Tensor x_gates;  // [T, N, G*H]: input @ w_ih^T for every step (backward does not read it)
  Tensor w_hh;     // [G*H, P]
  Tensor b_ih;     // [G*H], or undefined (added in the gate pass, not to x_gates)
  Tensor b_hh;     // [G*H], or undefined
  Tensor w_hr;     // [P, H] projection (LSTM with proj_size), or undefined
  Tensor h0;       // [N, P]
  Tensor c0;       // [N, H] (LSTM)
  Tensor active;   // uint8 [T, N], or undefined when every step is valid
  // Written:
  Tensor h;        // [T, N, P]: the state after each step (carried over inactive steps)
  Tensor c;        // [T, N, H] (LSTM)
  Tensor h_cell;   // [T, N, H]: o * tanh(c) before the projection (with w_hr), zero at inactive steps
  Tensor saved;    // [T, N, saved_count * H] (LSTM, GRU)
};

void recurrent_forward(const RecurrentForward& f);

struct RecurrentBackward {
  const RecurrentForward* forward;  // its inputs and what it wrote
  Tensor d_output;  // [T, N, P] gradient of the outputs (read at active steps only), or undefined
  Tensor d_h_n;     // [N, P] gradient of the final h, or undefined
  Tensor d_c_n;     // [N, H] gradient of the final c (LSTM), or undefined
  // Written:
  Tensor d_x_gates;  // [T, N, G*H]: gradient of x_gates
  Tensor d_h_gates;  // [T, N, G*H]: gradient of h_prev @ w_hh^T + b_hh; the same tensor as
                     // d_x_gates except for GRU, whose n gate multiplies this part by r
  Tensor d_h;        // [T, N, P]: gradient of each step's h (with w_hr: gives d w_hr)
  Tensor d_h0;       // [N, P]
  Tensor d_c0;       // [N, H] (LSTM)
};

void recurrent_backward(const RecurrentBackward& b);

}  // namespace cajal::kernels
