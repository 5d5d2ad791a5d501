// Recurrent ops: checks, the input projections of all steps in one GEMM, the time loop
// (kernels/cpu/rnn), and one autograd node whose backward runs BPTT and forms the weight
// gradients with large GEMMs over all steps at once.
#include "cajal/ops/rnn.h"

#include <array>
#include <memory>
#include <string>

#include "cajal/autograd/node.h"
#include "cajal/kernels/cpu/gemm.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"

namespace cajal {

namespace {

const char* cell_name(RecurrentCell cell) {
  switch (cell) {
    case RecurrentCell::Lstm: return "lstm";
    case RecurrentCell::Gru: return "gru";
    case RecurrentCell::RnnTanh: return "rnn_tanh";
    case RecurrentCell::RnnRelu: return "rnn_relu";
  }
  return "rnn";
}

// --- checks ---

void check_shape(const char* op, const char* what, const Tensor& t, const Dims& expected, const char* why) {
  if (t.sizes() != expected)
    fail<ShapeError>(op, ": ", what, " has shape ", t.sizes(), ", expected ", expected, " (", why, ")");
}

void check_dtype(const char* op, const char* what, const Tensor& t, DType dtype) {
  if (t.defined() && t.dtype() != dtype)
    fail<DTypeError>(op, ": ", what, " is ", dtype_name(t.dtype()), " but the input is ", dtype_name(dtype),
                     "; convert them to one floating dtype");
}

// The sizes of one call: T steps, N sequences, F features, H hidden, P size of h.
struct LayerSizes {
  int64_t steps, batch, features, hidden, proj, gates;
};

LayerSizes check_layer(const char* op, RecurrentCell cell, const Tensor& input, const Tensor& h0, const Tensor& c0,
                       const RecurrentWeights& w) {
  check_defined(op, input);
  if (input.dim() != 3)
    fail<ShapeError>(op, ": expected an input of shape [T, N, F] (steps, batch, features), got ", input.sizes());
  if (input.dtype() != DType::f32 && input.dtype() != DType::f64)
    fail<DTypeError>(op, ": input must be float32 or float64, got ", dtype_name(input.dtype()));
  if (input.size(0) == 0) fail<ShapeError>(op, ": the input sequence is empty (shape ", input.sizes(), ")");
  if (!w.w_ih.defined() || !w.w_hh.defined() || w.w_ih.dim() != 2 || w.w_hh.dim() != 2)
    fail<ShapeError>(op, ": weight_ih and weight_hh must be matrices");
  const int64_t gates = kernels::gate_count(cell);
  if (w.w_ih.size(0) % gates != 0)
    fail<ShapeError>(op, ": weight_ih has shape ", w.w_ih.sizes(), ", whose rows are not ", gates, " gates");
  const int64_t H = w.w_ih.size(0) / gates, F = input.size(2);
  if (w.w_hr.defined() && cell != RecurrentCell::Lstm) fail<ValueError>(op, ": only LSTM has a projection (weight_hr)");
  const int64_t P = w.w_hr.defined() ? w.w_hr.size(0) : H;
  const int64_t N = input.size(1);
  if (w.w_ih.size(1) != F)
    fail<ShapeError>(op, ": input has ", F, " features (shape ", input.sizes(), ") but weight_ih has shape ",
                     w.w_ih.sizes(), ", i.e. input_size ", w.w_ih.size(1));
  check_shape(op, "weight_hh", w.w_hh, {gates * H, P}, "gates * hidden_size, size of h");
  if (w.b_ih.defined()) check_shape(op, "bias_ih", w.b_ih, {gates * H}, "gates * hidden_size");
  if (w.b_hh.defined()) check_shape(op, "bias_hh", w.b_hh, {gates * H}, "gates * hidden_size");
  if (w.w_hr.defined()) check_shape(op, "weight_hr", w.w_hr, {P, H}, "proj_size, hidden_size");
  if (!h0.defined()) fail<ValueError>(op, ": the initial state h0 is required");
  check_shape(op, "h0", h0, {N, P}, "batch, size of h");
  if (cell == RecurrentCell::Lstm) {
    if (!c0.defined()) fail<ValueError>(op, ": the initial cell state c0 is required");
    check_shape(op, "c0", c0, {N, H}, "batch, hidden_size");
  } else if (c0.defined()) {
    fail<ValueError>(op, ": only LSTM has a cell state; c0 must be undefined");
  }
  const DType dtype = input.dtype();
  check_dtype(op, "h0", h0, dtype);
  check_dtype(op, "c0", c0, dtype);
  check_dtype(op, "weight_ih", w.w_ih, dtype);
  check_dtype(op, "weight_hh", w.w_hh, dtype);
  check_dtype(op, "bias_ih", w.b_ih, dtype);
  check_dtype(op, "bias_hh", w.b_hh, dtype);
  check_dtype(op, "weight_hr", w.w_hr, dtype);
  return {input.size(0), N, F, H, P, gates};
}

// uint8 [T, N]: step t belongs to sequence n (t < lengths[n]).
Tensor active_steps(const char* op, const Tensor& lengths, int64_t steps, int64_t batch) {
  if (lengths.dtype() != DType::i64 || lengths.dim() != 1 || lengths.size(0) != batch)
    fail<ShapeError>(op, ": lengths must be an int64 tensor of shape [", batch, "] (one per sequence), got ",
                     dtype_name(lengths.dtype()), " of shape ", lengths.sizes());
  std::vector<int64_t> len = lengths.to_vector<int64_t>();
  for (int64_t n = 0; n < batch; ++n)
    if (len[n] < 1 || len[n] > steps)
      fail<IndexError>(op, ": lengths[", n, "] = ", len[n], " is out of range: each sequence needs 1 to ", steps,
                       " steps (the padded length)");
  Tensor active = empty({steps, batch}, {.dtype = DType::u8});
  uint8_t* a = active.data_ptr<uint8_t>();
  for (int64_t t = 0; t < steps; ++t)
    for (int64_t n = 0; n < batch; ++n) a[t * batch + n] = t < len[n] ? 1 : 0;
  return active;
}

// --- the autograd node's state ---

// What backward needs: the forward's buffers (inside `loop`) and its inputs, history-free.
struct LayerTape {
  kernels::RecurrentForward loop;
  LayerSizes sizes;
  Tensor input, w_ih;  // input [T * N, F]
  std::array<bool, 8> needs;  // gradient wanted for input, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr
  std::string op;
};

enum Input { kInput, kH0, kC0, kWih, kWhh, kBih, kBhh, kWhr };

// dW_hh = sum over steps of d_h_gates[t]^T @ h_prev(t): the first processed step's h_prev
// is h0, the others' are the states of the neighbouring steps, one contiguous block.
Tensor w_hh_gradient(const LayerTape& tape, const Tensor& d_h_gates) {
  const auto& [T, N, F, H, P, G] = tape.sizes;
  const kernels::RecurrentForward& f = tape.loop;
  Tensor grad = empty({G * H, P}, {.dtype = tape.input.dtype()});
  const int64_t first = f.reverse ? T - 1 : 0;
  kernels::gemm(d_h_gates[first].t(), f.h0, grad);
  if (T > 1) {
    // forward: steps 1..T-1 read states 0..T-2; reverse: steps 0..T-2 read states 1..T-1
    const int64_t step0 = f.reverse ? 0 : 1, state0 = f.reverse ? 1 : 0;
    Tensor d = d_h_gates.narrow(0, step0, T - 1).reshape({(T - 1) * N, G * H});
    Tensor h = f.h.narrow(0, state0, T - 1).reshape({(T - 1) * N, P});
    kernels::gemm(d.t(), h, grad, 1, 1);
  }
  return grad;
}

Tensor matmul_into(const Tensor& a, const Tensor& b, const Dims& shape) {
  Tensor out = empty(shape, {.dtype = a.dtype()});
  kernels::gemm(a, b, out);
  return out;
}

TensorList layer_backward(const LayerTape& tape, const Tensor& grad) {
  NoGradGuard no_grad;
  const auto& [T, N, F, H, P, G] = tape.sizes;
  const kernels::RecurrentForward& f = tape.loop;
  const bool lstm = f.cell == RecurrentCell::Lstm, gru = f.cell == RecurrentCell::Gru;
  const TensorOptions opts{.dtype = tape.input.dtype()};
  Tensor g = grad.contiguous();
  kernels::RecurrentBackward b;
  b.forward = &f;
  b.d_output = g.narrow(0, 0, T * N * P).view({T, N, P});
  b.d_h_n = g.narrow(0, T * N * P, N * P).view({N, P});
  if (lstm) b.d_c_n = g.narrow(0, (T + 1) * N * P, N * H).view({N, H});
  b.d_x_gates = empty({T, N, G * H}, opts);
  b.d_h_gates = gru ? empty({T, N, G * H}, opts) : b.d_x_gates;
  if (f.w_hr.defined()) b.d_h = empty({T, N, P}, opts);
  b.d_h0 = empty({N, P}, opts);
  if (lstm) b.d_c0 = empty({N, H}, opts);
  kernels::recurrent_backward(b);

  Tensor dgx = b.d_x_gates.view({T * N, G * H});
  Tensor dgh = b.d_h_gates.view({T * N, G * H});
  TensorList grads(8);
  const auto& need = tape.needs;
  if (need[kInput]) grads[kInput] = matmul_into(dgx, tape.w_ih, {T * N, F}).view({T, N, F});
  if (need[kH0]) grads[kH0] = b.d_h0;
  if (need[kC0]) grads[kC0] = b.d_c0;
  if (need[kWih]) grads[kWih] = matmul_into(dgx.t(), tape.input, {G * H, F});
  if (need[kWhh]) grads[kWhh] = w_hh_gradient(tape, b.d_h_gates);
  if (need[kBih]) grads[kBih] = dgx.sum({0});
  if (need[kBhh]) grads[kBhh] = dgh.sum({0});
  if (need[kWhr]) grads[kWhr] = matmul_into(b.d_h.view({T * N, P}).t(), f.h_cell.view({T * N, H}), {P, H});
  return grads;
}

// With create_graph, the gradients get a node that refuses a second differentiation,
// rather than silently acting as constants.
void refuse_double_backward(TensorList& grads, const std::string& op, const Tensor& grad_output,
                            const TensorList& inputs) {
  TensorList sources;
  for (const Tensor& t : inputs)
    if (t.defined()) sources.push_back(t);
  sources.push_back(grad_output);
  for (Tensor& g : grads) {
    if (!g.defined()) continue;
    autograd::record_list("recurrent_layer_backward", g, sources, [op](const Tensor&) -> TensorList {
      fail<AutogradError>(op, ": the fused recurrent backward is first order only (as PyTorch's fused RNN "
                          "kernels): second derivatives through it are not supported");
      return {};
    });
  }
}

}  // namespace

RecurrentResult recurrent_layer(RecurrentCell cell, const Tensor& input, const Tensor& h0, const Tensor& c0,
                                const RecurrentWeights& w, const Tensor& lengths, bool reverse, const char* op) {
  if (!op) op = cell_name(cell);
  const LayerSizes sizes = check_layer(op, cell, input, h0, c0, w);
  const auto& [T, N, F, H, P, G] = sizes;
  const bool lstm = cell == RecurrentCell::Lstm;
  const TensorOptions opts{.dtype = input.dtype()};

  auto tape = std::make_shared<LayerTape>();
  kernels::RecurrentForward& f = tape->loop;
  Tensor packed;
  {
    NoGradGuard no_grad;
    if (lengths.defined()) f.active = active_steps(op, lengths, T, N);
    tape->input = input.detach().contiguous().view({T * N, F});
    tape->w_ih = w.w_ih.detach().contiguous();
    // Input projections of every step in one GEMM: x_gates = input @ w_ih^T (the gate pass
    // adds the biases).
    f.x_gates = empty({T, N, G * H}, opts);
    kernels::gemm(tape->input, tape->w_ih.t(), f.x_gates.view({T * N, G * H}));

    f.cell = cell;
    f.reverse = reverse;
    f.w_hh = w.w_hh.detach().contiguous();
    if (w.b_ih.defined()) f.b_ih = w.b_ih.detach().contiguous();
    if (w.b_hh.defined()) f.b_hh = w.b_hh.detach().contiguous();
    if (w.w_hr.defined()) f.w_hr = w.w_hr.detach().contiguous();
    f.h0 = h0.detach().contiguous();
    if (lstm) f.c0 = c0.detach().contiguous();
    // One tensor holds every result (output, h_n, c_n), so one node produces them all; the
    // results are views of it. Without lengths the loop writes the output there directly.
    packed = empty({T * N * P + N * P + (lstm ? N * H : 0)}, opts);
    Tensor packed_output = packed.narrow(0, 0, T * N * P).view({T, N, P});
    f.h = f.active.defined() ? empty({T, N, P}, opts) : packed_output;
    if (lstm) f.c = empty({T, N, H}, opts);
    if (w.w_hr.defined()) f.h_cell = empty({T, N, H}, opts);
    if (kernels::saved_count(cell) > 0) f.saved = empty({T, N, kernels::saved_count(cell) * H}, opts);
    kernels::recurrent_forward(f);
    f.x_gates = Tensor();  // backward does not need it: free it now

    if (f.active.defined()) packed_output.copy_(mul(f.h, f.active.to(input.dtype()).unsqueeze(2)));
    const int64_t last = reverse ? 0 : T - 1;  // each sequence's final state is carried there
    packed.narrow(0, T * N * P, N * P).view({N, P}).copy_(f.h[last]);
    if (lstm) packed.narrow(0, (T + 1) * N * P, N * H).view({N, H}).copy_(f.c[last]);
  }

  const Tensor* inputs[] = {&input, &h0, &c0, &w.w_ih, &w.w_hh, &w.b_ih, &w.b_hh, &w.w_hr};
  for (size_t i = 0; i < 8; ++i) tape->needs[i] = inputs[i]->defined() && inputs[i]->requires_grad();
  tape->sizes = sizes;
  tape->op = op;
  // The tape is the kernels' workspace, which the backward kernel reads as a whole: buffers
  // only this node reaches, and history-free aliases of the inputs and of packed. Saving
  // those (packed, the output, detached: backward reads the states from it when it holds
  // them) checks that none changed in place; the inputs themselves, with their history,
  // only serve refuse_double_backward.
  autograd::record(
      cell_name(cell), packed, {&input, &h0, &c0, &w.w_ih, &w.w_hh, &w.b_ih, &w.b_hh, &w.w_hr},
      autograd::save(input, h0, c0, w.w_ih, w.w_hh, w.b_ih, w.b_hh, w.w_hr, packed.detach()),
      [tape](const Tensor& grad, const Tensor& input, const Tensor& h0, const Tensor& c0, const Tensor& w_ih,
             const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh, const Tensor& w_hr, const Tensor&) -> TensorList {
        TensorList grads = layer_backward(*tape, grad);
        if (autograd::GradMode::enabled())
          refuse_double_backward(grads, tape->op, grad, {input, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr});
        return grads;
      });

  RecurrentResult result;
  result.output = packed.narrow(0, 0, T * N * P).view({T, N, P});
  result.h_n = packed.narrow(0, T * N * P, N * P).view({N, P});
  if (lstm) result.c_n = packed.narrow(0, (T + 1) * N * P, N * H).view({N, H});
  return result;
}

namespace {

// One step of `cell` as a layer over a one-step sequence; x [N, F] or unbatched [F].
RecurrentResult cell_step(const char* op, RecurrentCell cell, const Tensor& x, const Tensor& h, const Tensor& c,
                          const RecurrentWeights& weights) {
  check_defined(op, x, weights.w_ih, weights.w_hh);
  if (x.dim() != 1 && x.dim() != 2)
    fail<ShapeError>(op, ": expected an input of shape [N, F] or unbatched [F], got ", x.sizes());
  const bool unbatched = x.dim() == 1;
  auto state_of = [&](const Tensor& s, const char* what) {
    if (!s.defined()) return s;
    if (s.dim() != x.dim())
      fail<ShapeError>(op, ": ", what, " has shape ", s.sizes(), " but the input has shape ", x.sizes(), " (",
                       unbatched ? "unbatched: [hidden_size]" : "batched: [N, hidden_size]", ")");
    return unbatched ? s.unsqueeze(0) : s;
  };
  Tensor xb = unbatched ? x.unsqueeze(0) : x;
  RecurrentResult r = recurrent_layer(cell, xb.unsqueeze(0), state_of(h, "h"), state_of(c, "c"), weights, {}, false, op);
  if (unbatched) {
    r.h_n = r.h_n.squeeze(0);
    if (r.c_n.defined()) r.c_n = r.c_n.squeeze(0);
  }
  return r;
}

}  // namespace

Tensor rnn_tanh_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                     const Tensor& b_hh) {
  return cell_step("rnn_tanh_cell", RecurrentCell::RnnTanh, x, h, {}, {w_ih, w_hh, b_ih, b_hh, {}}).h_n;
}

Tensor rnn_relu_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                     const Tensor& b_hh) {
  return cell_step("rnn_relu_cell", RecurrentCell::RnnRelu, x, h, {}, {w_ih, w_hh, b_ih, b_hh, {}}).h_n;
}

Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh) {
  return cell_step("gru_cell", RecurrentCell::Gru, x, h, {}, {w_ih, w_hh, b_ih, b_hh, {}}).h_n;
}

std::pair<Tensor, Tensor> lstm_cell(const Tensor& x, const Tensor& h, const Tensor& c, const Tensor& w_ih,
                                    const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh) {
  RecurrentResult r = cell_step("lstm_cell", RecurrentCell::Lstm, x, h, c, {w_ih, w_hh, b_ih, b_hh, {}});
  return {r.h_n, r.c_n};
}

}  // namespace cajal
