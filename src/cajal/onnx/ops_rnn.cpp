// The recurrent operators RNN, GRU and LSTM, run by cajal's fused recurrent layer
// (ops/rnn.h), one call per direction.
//
// ONNX and PyTorch store the same weights with the gates in another order: ONNX's LSTM has
// i, o, f, c where PyTorch has i, f, g, o, and ONNX's GRU z, r, h where PyTorch has r, z, n.
// The gate blocks are reordered once per call (views and one cat). ONNX's GRU with
// linear_before_reset=1 is PyTorch's GRU (what torch.onnx.export writes).
//
// Two cells the fused kernel does not have run step by step with differentiable ops instead:
// ONNX's default GRU (linear_before_reset=0: the reset gate applies to h before the recurrent
// product) and the LSTM with peephole weights. Slower, but the same graph semantics.
#include "cajal/onnx/import_ops.h"
#include "cajal/ops/activation.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/linalg.h"
#include "cajal/ops/rnn.h"
#include "cajal/ops/shape.h"

namespace cajal::onnx {

namespace {

struct CellKind {
  RecurrentCell cell;
  std::vector<int64_t> torch_order;  // for each PyTorch gate, the ONNX gate block it is
};

CellKind cell_of(const Node& node) {
  std::vector<std::string> activations;
  if (const NodeAttribute* a = node.find("activations", NodeAttribute::Kind::Strings)) activations = a->strings;
  if (node.op_type == "LSTM") {
    if (!activations.empty() && activations != std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"} &&
        activations != std::vector<std::string>{"Sigmoid", "Tanh", "Tanh", "Sigmoid", "Tanh", "Tanh"})
      node.unsupported("activations other than Sigmoid, Tanh, Tanh");
    if (node.get_int("input_forget", 0) != 0) node.unsupported("input_forget=1");
    return {RecurrentCell::Lstm, {0, 2, 3, 1}};
  }
  if (node.op_type == "GRU") {
    if (!activations.empty() && activations != std::vector<std::string>{"Sigmoid", "Tanh"} &&
        activations != std::vector<std::string>{"Sigmoid", "Tanh", "Sigmoid", "Tanh"})
      node.unsupported("activations other than Sigmoid, Tanh");
    return {RecurrentCell::Gru, {1, 0, 2}};
  }
  bool relu = !activations.empty() && activations[0] == "Relu";
  for (const std::string& a : activations)
    if (a != activations[0] || (a != "Tanh" && a != "Relu")) node.unsupported("activations other than Tanh or Relu");
  return {relu ? RecurrentCell::RnnRelu : RecurrentCell::RnnTanh, {0}};
}

// w ([G*H, ...]) with its G gate blocks in PyTorch's order.
Tensor reorder_gates(const Tensor& w, const std::vector<int64_t>& order) {
  if (order.size() == 1) return w;
  TensorList blocks = chunk(w, static_cast<int64_t>(order.size()), 0), ordered;
  for (int64_t g : order) ordered.push_back(blocks[static_cast<size_t>(g)]);
  return cat(ordered, 0);
}

// A ShapeError naming the node and input unless t (when given) has `shape`.
void expect_shape(const Node& node, const char* name, const Tensor& t, const Dims& shape) {
  if (t.defined() && t.sizes() != shape) fail<ShapeError>(node.where(), ": ", name, " must have shape ", shape, ", got ", t.sizes());
}

// One direction of ONNX's GRU with linear_before_reset=0 or LSTM with peepholes, step by
// step, in ONNX's gate order (GRU z, r, h; LSTM i, o, f, c; peepholes i, o, f). x [T, N, F],
// w [G*H, F], r [G*H, H], b [2*G*H] or undefined, h and c [N, H], p [3*H] or undefined.
// A step at or past a sequence's length leaves its state and writes a zero output.
RecurrentResult stepped_layer(RecurrentCell cell, const Tensor& x, Tensor h, Tensor c, const Tensor& w, const Tensor& r,
                              const Tensor& b, const Tensor& p, const Tensor& lengths, bool reverse) {
  const int64_t hidden = r.size(1), steps = x.size(0);
  Tensor projected = matmul(x, w.t());  // every step's input products at once: [T, N, G*H]
  Tensor w_bias = b.defined() ? b.slice(0, 0, r.size(0)) : Tensor(), r_bias = b.defined() ? b.slice(0, r.size(0), 2 * r.size(0)) : Tensor();
  if (w_bias.defined()) projected = projected + w_bias;
  auto gate = [hidden](const Tensor& t, int64_t k) { return t.narrow(-1, k * hidden, hidden); };
  TensorList outputs(static_cast<size_t>(steps));
  for (int64_t k = 0; k < steps; ++k) {
    int64_t t = reverse ? steps - 1 - k : k;
    Tensor xt = projected[t];
    Tensor new_h, new_c;
    if (cell == RecurrentCell::Gru) {
      // z and r from h; the candidate from r * h, each recurrent product with its own bias.
      Tensor hz_hr = matmul(h, r.narrow(0, 0, 2 * hidden).t());
      if (r_bias.defined()) hz_hr = hz_hr + r_bias.narrow(0, 0, 2 * hidden);
      Tensor z = sigmoid(gate(xt, 0) + gate(hz_hr, 0)), reset = sigmoid(gate(xt, 1) + gate(hz_hr, 1));
      Tensor hh = matmul(reset * h, r.narrow(0, 2 * hidden, hidden).t());
      if (r_bias.defined()) hh = hh + r_bias.narrow(0, 2 * hidden, hidden);
      Tensor candidate = tanh(gate(xt, 2) + hh);
      new_h = (1.0 - z) * candidate + z * h;
    } else {
      Tensor gates = xt + matmul(h, r.t());
      if (r_bias.defined()) gates = gates + r_bias;
      Tensor pi = p.defined() ? p.narrow(0, 0, hidden) * c : zeros_like(c), pf = p.defined() ? p.narrow(0, 2 * hidden, hidden) * c : zeros_like(c);
      Tensor i = sigmoid(gate(gates, 0) + pi), f = sigmoid(gate(gates, 2) + pf);
      new_c = f * c + i * tanh(gate(gates, 3));
      Tensor po = p.defined() ? p.narrow(0, hidden, hidden) * new_c : zeros_like(new_c);
      new_h = sigmoid(gate(gates, 1) + po) * tanh(new_c);
    }
    if (lengths.defined()) {
      Tensor active = gt(lengths, t).unsqueeze(1);  // [N, 1]
      new_h = where(active, new_h, h);
      if (new_c.defined()) new_c = where(active, new_c, c);
      outputs[static_cast<size_t>(t)] = where(active, new_h, 0.0);
    } else {
      outputs[static_cast<size_t>(t)] = new_h;
    }
    h = new_h;
    c = new_c;
  }
  return {stack(outputs, 0), h, c};
}

TensorList run_recurrent(const Node& node, const TensorList& in) {
  CellKind kind = cell_of(node);
  if (node.has("clip")) node.unsupported("clip");
  const bool batch_first = node.get_int("layout", 0) != 0;
  Tensor x = batch_first ? in.at(0).transpose(0, 1) : in.at(0);  // [T, N, F]
  const Tensor& w = in.at(1);                                     // [D, G*H, F]
  const Tensor& r = in.at(2);                                     // [D, G*H, H]
  const Tensor& b = optional_input(in, 3);                        // [D, 2*G*H]
  Tensor lengths = optional_input(in, 4);
  const Tensor& h0 = optional_input(in, 5);  // [D, N, H]
  const Tensor& c0 = optional_input(in, 6);
  const Tensor& peepholes = optional_input(in, 7);  // [D, 3*H]
  const std::string direction = node.get_string("direction", "forward");
  const int64_t dirs = direction == "bidirectional" ? 2 : 1;
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
    fail<IOError>(node.where(), ": unknown direction '", direction, "'");
  const int64_t gates = static_cast<int64_t>(kind.torch_order.size());
  if (x.dim() != 3) fail<ShapeError>(node.where(), ": X must be 3-D, got shape ", x.sizes());
  if (r.dim() != 3) fail<ShapeError>(node.where(), ": R must be 3-D, got shape ", r.sizes());
  const int64_t hidden = r.size(2), batch = x.size(1);
  if (node.get_int("hidden_size", hidden) != hidden)
    fail<ShapeError>(node.where(), ": hidden_size ", node.get_int("hidden_size", hidden), " does not match R's ", hidden);
  // Every weight and state is checked before its gate blocks are taken apart.
  expect_shape(node, "W", w, {dirs, gates * hidden, x.size(2)});
  expect_shape(node, "R", r, {dirs, gates * hidden, hidden});
  expect_shape(node, "B", b, {dirs, 2 * gates * hidden});
  expect_shape(node, "initial_h", h0, {dirs, batch, hidden});
  expect_shape(node, "initial_c", c0, {dirs, batch, hidden});
  expect_shape(node, "P", peepholes, {dirs, 3 * hidden});
  const bool stepped = (kind.cell == RecurrentCell::Gru && node.get_int("linear_before_reset", 0) == 0) || peepholes.defined();
  if (lengths.defined()) lengths = lengths.to(DType::i64);
  TensorList outputs, h_n, c_n;
  for (int64_t d = 0; d < dirs; ++d) {
    Tensor h = h0.defined() ? h0[d] : zeros({batch, hidden}, {.dtype = x.dtype()});
    Tensor c = kind.cell == RecurrentCell::Lstm ? (c0.defined() ? c0[d] : zeros({batch, hidden}, {.dtype = x.dtype()})) : Tensor();
    bool reverse = direction == "reverse" || d == 1;
    RecurrentResult result;
    if (stepped) {
      result = stepped_layer(kind.cell, x, h, c, w[d], r[d], b.defined() ? b[d] : Tensor(), peepholes.defined() ? peepholes[d] : Tensor(),
                             lengths, reverse);
    } else {
      RecurrentWeights weights{.w_ih = reorder_gates(w[d], kind.torch_order), .w_hh = reorder_gates(r[d], kind.torch_order)};
      if (b.defined()) {
        TensorList halves = chunk(b[d], 2, 0);
        weights.b_ih = reorder_gates(halves[0], kind.torch_order);
        weights.b_hh = reorder_gates(halves[1], kind.torch_order);
      }
      result = recurrent_layer(kind.cell, x, h, c, weights, lengths, reverse, node.op_type.c_str());
    }
    outputs.push_back(result.output);
    h_n.push_back(result.h_n);
    if (result.c_n.defined()) c_n.push_back(result.c_n);
  }
  Tensor y = stack(outputs, 1);  // [T, D, N, H]
  Tensor y_h = stack(h_n, 0), y_c = c_n.empty() ? Tensor() : stack(c_n, 0);
  if (batch_first) {
    y = y.permute({2, 0, 1, 3});  // [N, T, D, H]
    y_h = y_h.transpose(0, 1);
    if (y_c.defined()) y_c = y_c.transpose(0, 1);
  }
  return {y, y_h, y_c};
}

}  // namespace

void register_rnn_ops(OpTable& table) {
  table["RNN"] = {run_recurrent, 7};
  table["GRU"] = {run_recurrent, 7};
  table["LSTM"] = {run_recurrent, 7};
}

}  // namespace cajal::onnx
