// Saved tensors: every op with a recorded backward saves (autograd::save) each tensor its
// formula reads, so changing one of them in place between forward and backward fails with
// the version counter's error instead of giving a wrong gradient. One row per op: its
// inputs, and which of its inputs and results its backward reads. Each row runs once as is
// (backward works) and once per saved tensor changed in place, with first-order backward
// and with create_graph (whose recorded formulas may read other tensors than the fused
// first-order ones, as softmax's recomputes its output from its input).
#include <functional>

#include "cajal/ops/activation.h"
#include "cajal/ops/attention.h"
#include "cajal/ops/conv.h"
#include "cajal/ops/loss.h"
#include "cajal/ops/norm.h"
#include "cajal/ops/pool.h"
#include "cajal/ops/rnn.h"
#include "support/test_support.h"

using namespace cajal;

namespace {

// A saved tensor: input i of the op, or result i (result 0 is the one differentiated).
struct Target {
  bool result;
  int index;
};
Target in(int i) { return {false, i}; }
Target out(int i) { return {true, i}; }

struct Case {
  std::string name;
  std::function<TensorList()> inputs;                  // fresh inputs for each run
  std::function<TensorList(const TensorList&)> op;     // result 0 is differentiated
  std::vector<Target> saved;
};

// A float64 leaf that requires grad, with distinct values of either sign.
Tensor x(const Dims& shape, double phase = 0.3) { return test::gradcheck_leaf(shape, phase); }
// The same values shifted to be positive (log, sqrt, ...), or squashed into (0, 1).
Tensor positive(const Dims& shape) { return (x(shape).detach().abs() + 0.5).requires_grad_(); }
Tensor probabilities(const Dims& shape) { return sigmoid(x(shape).detach()).requires_grad_(); }
// An op of one input whose backward reads the input and its output.
Case unary(const std::string& name, Tensor (*f)(const Tensor&), bool needs_positive = false) {
  return {name, [needs_positive] { return TensorList{needs_positive ? positive({2, 3}) : x({2, 3})}; },
          [f](const TensorList& t) { return TensorList{f(t[0])}; }, {in(0), out(0)}};
}

// The ops with parameters (or default arguments), as functions of one tensor.
Tensor relu_op(const Tensor& t) { return relu(t); }
Tensor gelu_erf(const Tensor& t) { return gelu(t); }
Tensor gelu_tanh(const Tensor& t) { return gelu(t, GeluApprox::Tanh); }
Tensor leaky_relu_op(const Tensor& t) { return leaky_relu(t, 0.1); }
Tensor elu_op(const Tensor& t) { return elu(t, 0.7); }
Tensor softplus_op(const Tensor& t) { return softplus(t, 2.0, 3.0); }
Tensor clamp_op(const Tensor& t) { return clamp(t, -0.5, 0.5); }
Tensor pow_scalar(const Tensor& t) { return pow(t, 3); }

std::vector<Case> cases() {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<Case> all = {
      unary("neg", neg), unary("abs", abs), unary("exp", exp), unary("log", log, true),
      unary("log1p", log1p, true), unary("expm1", expm1), unary("sqrt", sqrt, true), unary("rsqrt", rsqrt, true),
      unary("square", square), unary("erf", erf), unary("sin", sin), unary("cos", cos), unary("tanh", tanh),
      unary("sigmoid", sigmoid), unary("relu", relu_op), unary("leaky_relu", leaky_relu_op), unary("elu", elu_op),
      unary("selu", selu), unary("gelu", gelu_erf), unary("gelu_tanh", gelu_tanh), unary("silu", silu),
      unary("softplus", softplus_op), unary("sign", sign), unary("floor", floor), unary("ceil", ceil),
      unary("round", round), unary("reciprocal", reciprocal, true), unary("clamp", clamp_op),
      unary("pow_scalar", pow_scalar),
      {"hardtanh", [] { return TensorList{x({2, 3})}; },
       [](const TensorList& t) { return TensorList{hardtanh(t[0], -0.5, 0.5)}; }, {in(0)}},
      // binary
      {"mul", [] { return TensorList{x({2, 3}), x({3}, 1.0)}; },
       [](const TensorList& t) { return TensorList{mul(t[0], t[1])}; }, {in(0), in(1)}},
      {"div", [] { return TensorList{x({2, 3}), positive({3})}; },
       [](const TensorList& t) { return TensorList{div(t[0], t[1])}; }, {in(0), in(1)}},
      {"pow", [] { return TensorList{positive({2, 3}), x({3}, 1.0)}; },
       [](const TensorList& t) { return TensorList{pow(t[0], t[1])}; }, {in(0), in(1)}},
      {"maximum", [] { return TensorList{x({2, 3}), x({3}, 1.0)}; },
       [](const TensorList& t) { return TensorList{maximum(t[0], t[1])}; }, {in(0), in(1)}},
      {"minimum", [] { return TensorList{x({2, 3}), x({3}, 1.0)}; },
       [](const TensorList& t) { return TensorList{minimum(t[0], t[1])}; }, {in(0), in(1)}},
      {"atan2", [] { return TensorList{x({2, 3}), x({3}, 1.0)}; },
       [](const TensorList& t) { return TensorList{atan2(t[0], t[1])}; }, {in(0), in(1)}},
      {"where", [] { return TensorList{tensor({true, false, true}, {3}), x({2, 3}), x({3}, 1.0)}; },
       [](const TensorList& t) { return TensorList{where(t[0], t[1], t[2])}; }, {in(0)}},
      // reductions
      {"max_all", [] { return TensorList{x({2, 3})}; }, [](const TensorList& t) { return TensorList{max(t[0])}; },
       {in(0), out(0)}},
      {"min_all", [] { return TensorList{x({2, 3})}; }, [](const TensorList& t) { return TensorList{min(t[0])}; },
       {in(0), out(0)}},
      {"max_dim", [] { return TensorList{x({2, 3})}; },
       [](const TensorList& t) {
         ValuesIndices r = max(t[0], 1);
         return TensorList{r.values, r.indices};
       },
       {out(1)}},
      {"prod", [] { return TensorList{x({2, 3})}; }, [](const TensorList& t) { return TensorList{prod(t[0], 1)}; },
       {in(0)}},
      {"var", [] { return TensorList{x({2, 3})}; }, [](const TensorList& t) { return TensorList{var(t[0], {1})}; },
       {in(0), out(0)}},
      {"std", [] { return TensorList{x({2, 3})}; },
       [](const TensorList& t) { return TensorList{cajal::std(t[0], {1})}; }, {in(0), out(0)}},
      {"logsumexp", [] { return TensorList{x({2, 3})}; },
       [](const TensorList& t) { return TensorList{logsumexp(t[0], {1})}; }, {in(0), out(0)}},
      {"norm1", [] { return TensorList{x({2, 3})}; }, [](const TensorList& t) { return TensorList{norm(t[0], 1)}; },
       {in(0), out(0)}},
      {"norm2", [] { return TensorList{x({2, 3})}; }, [](const TensorList& t) { return TensorList{norm(t[0], 2)}; },
       {in(0), out(0)}},
      {"norm_inf", [] { return TensorList{x({2, 3})}; },
       [inf](const TensorList& t) { return TensorList{norm(t[0], inf, {1})}; }, {in(0), out(0)}},
      {"softmax", [] { return TensorList{x({2, 3})}; },
       [](const TensorList& t) { return TensorList{softmax(t[0], 1)}; }, {in(0), out(0)}},
      {"log_softmax", [] { return TensorList{x({2, 3})}; },
       [](const TensorList& t) { return TensorList{log_softmax(t[0], 1)}; }, {in(0), out(0)}},
      // indexing
      {"index_select", [] { return TensorList{x({2, 3}), tensor({2, 0}, {2})}; },
       [](const TensorList& t) { return TensorList{index_select(t[0], 1, t[1])}; }, {in(1)}},
      {"gather", [] { return TensorList{x({2, 3}), tensor({2, 0, 1, 1}, {2, 2})}; },
       [](const TensorList& t) { return TensorList{gather(t[0], 1, t[1])}; }, {in(1)}},
      {"scatter", [] { return TensorList{x({2, 3}), tensor({2, 0, 1, 2}, {2, 2}), x({2, 2}, 1.0)}; },
       [](const TensorList& t) { return TensorList{scatter(t[0], 1, t[1], t[2])}; }, {in(1)}},
      {"scatter_value", [] { return TensorList{x({2, 3}), tensor({2, 0, 1, 2}, {2, 2})}; },
       [](const TensorList& t) { return TensorList{scatter(t[0], 1, t[1], 0.5)}; }, {in(1)}},
      {"scatter_add", [] { return TensorList{x({2, 3}), tensor({2, 0, 1, 1}, {2, 2}), x({2, 2}, 1.0)}; },
       [](const TensorList& t) { return TensorList{scatter_add(t[0], 1, t[1], t[2])}; }, {in(1)}},
      {"index_add", [] { return TensorList{x({3, 2}), tensor({2, 0}, {2}), x({2, 2}, 1.0)}; },
       [](const TensorList& t) { return TensorList{index_add(t[0], 0, t[1], t[2], 1.5)}; }, {in(1)}},
      {"masked_fill", [] { return TensorList{x({2, 3}), tensor({true, false, true}, {3})}; },
       [](const TensorList& t) { return TensorList{masked_fill(t[0], t[1], -2.0)}; }, {in(1)}},
      {"embedding", [] { return TensorList{x({4, 2}), tensor({3, 0, 1, 3}, {2, 2})}; },
       [](const TensorList& t) { return TensorList{embedding(t[0], t[1], 1)}; }, {in(1)}},
      // linear algebra
      {"matmul", [] { return TensorList{x({2, 3, 4}), x({4, 2}, 1.0)}; },
       [](const TensorList& t) { return TensorList{matmul(t[0], t[1])}; }, {in(0), in(1)}},
      {"addmm", [] { return TensorList{x({3}), x({2, 4}, 1.0), x({4, 3}, 2.0)}; },
       [](const TensorList& t) { return TensorList{addmm(t[0], t[1], t[2], 0.5, 2.0)}; }, {in(1), in(2)}},
      {"linear", [] { return TensorList{x({2, 4}), x({3, 4}, 1.0), x({3}, 2.0)}; },
       [](const TensorList& t) { return TensorList{linear(t[0], t[1], t[2])}; }, {in(0), in(1)}},
      {"conv2d", [] { return TensorList{x({1, 2, 4, 4}), x({3, 2, 2, 2}, 1.0), x({3}, 2.0)}; },
       [](const TensorList& t) { return TensorList{conv2d(t[0], t[1], t[2])}; }, {in(0), in(1)}},
      {"conv_transpose2d", [] { return TensorList{x({1, 2, 3, 3}), x({2, 3, 2, 2}, 1.0)}; },
       [](const TensorList& t) { return TensorList{conv_transpose2d(t[0], t[1])}; }, {in(0), in(1)}},
      {"max_pool2d", [] { return TensorList{x({1, 2, 4, 4})}; },
       [](const TensorList& t) {
         ValuesIndices r = max_pool2d_with_indices(t[0], 2);
         return TensorList{r.values, r.indices};
       },
       {out(1)}},
      // normalization
      {"layer_norm", [] { return TensorList{x({2, 3}), x({3}, 1.0), x({3}, 2.0)}; },
       [](const TensorList& t) { return TensorList{layer_norm(t[0], {3}, t[1], t[2])}; }, {in(0), in(1), in(2)}},
      {"group_norm", [] { return TensorList{x({2, 4, 3}), x({4}, 1.0), x({4}, 2.0)}; },
       [](const TensorList& t) { return TensorList{group_norm(t[0], 2, t[1], t[2])}; }, {in(0), in(1), in(2)}},
      {"batch_norm_training", [] { return TensorList{x({3, 2, 2}), x({2}, 1.0), x({2}, 2.0)}; },
       [](const TensorList& t) { return TensorList{batch_norm(t[0], {}, {}, t[1], t[2], true)}; },
       {in(0), in(1), in(2)}},
      {"batch_norm_eval", [] { return TensorList{x({3, 2, 2}), positive({2}), x({2}, 1.0)}; },
       [](const TensorList& t) { return TensorList{batch_norm(t[0], t[2], t[1], {}, {}, false)}; }, {in(0)}},
      // losses
      {"cross_entropy", [] { return TensorList{x({3, 4}), tensor({1, 0, 3}, {3}), positive({4})}; },
       [](const TensorList& t) { return TensorList{cross_entropy(t[0], t[1], {.weight = t[2]})}; },
       {in(0), in(1), in(2)}},
      {"binary_cross_entropy", [] { return TensorList{probabilities({2, 3}), probabilities({2, 3})}; },
       [](const TensorList& t) { return TensorList{binary_cross_entropy(t[0], t[1])}; }, {in(0), in(1)}},
      // attention
      {"scaled_dot_product_attention",
       [] { return TensorList{x({1, 3, 2}), x({1, 4, 2}, 1.0), x({1, 4, 2}, 2.0), tensor({true, false, true, true}, {4})}; },
       [](const TensorList& t) { return TensorList{scaled_dot_product_attention(t[0], t[1], t[2], t[3])}; },
       {in(0), in(1), in(2), in(3)}},
      {"multi_head_attention",
       [] { return TensorList{x({3, 1, 12}), tensor({true, false, false, true, false, false, true, true, false}, {3, 3})}; },
       [](const TensorList& t) {
         ProjectedQKV qkv{{t[0]}, {0, 0}, {0, 4}, {0, 8}};
         return TensorList{multi_head_attention(qkv, 2, 4, false, t[1], false, 0.0, nullptr)};
       },
       {in(0), in(1)}},
      // recurrent layers: the fused layer reads every input and its packed results
      {"lstm",
       [] { return TensorList{x({3, 2, 2}), x({2, 3}, 1.0), x({2, 3}, 2.0), x({12, 2}, 3.0), x({12, 3}, 4.0), x({12}, 5.0)}; },
       [](const TensorList& t) {
         RecurrentResult r = recurrent_layer(RecurrentCell::Lstm, t[0], t[1], t[2], {t[3], t[4], t[5], {}, {}});
         return TensorList{r.output};
       },
       {in(0), in(1), in(2), in(3), in(4), in(5), out(0)}},
  };
  return all;
}

// Changes t's values in place without recording: under no_grad, as an optimizer step or a
// data pipeline would. Indices keep valid values (each written over itself).
void change_in_place(Tensor t) {
  NoGradGuard no_grad;
  t.copy_(t.clone());
}

void run_backward(const Tensor& result, bool create_graph) {
  autograd::backward({result}, {ones_like(result)}, false, create_graph);
}

std::string describe(const Target& t) { return (t.result ? "result " : "input ") + std::to_string(t.index); }

}  // namespace

TEST(SavedTensors, BackwardRunsWhenNothingChanged) {
  for (const Case& c : cases())
    for (bool create_graph : {false, true}) {
      SCOPED_TRACE(c.name + (create_graph ? " create_graph" : ""));
      TensorList inputs = c.inputs();
      TensorList results = c.op(inputs);
      EXPECT_NO_THROW(run_backward(results[0], create_graph));
      for (Tensor& input : inputs) input.zero_grad();  // a create_graph gradient's cycle (autograd/engine.h)
    }
}

TEST(SavedTensors, EverySavedTensorChangedInPlaceIsCaught) {
  for (const Case& c : cases())
    for (const Target& target : c.saved)
      for (bool create_graph : {false, true}) {
        SCOPED_TRACE(c.name + ", " + describe(target) + (create_graph ? ", create_graph" : ""));
        TensorList inputs = c.inputs();
        TensorList results = c.op(inputs);
        change_in_place(target.result ? results[target.index] : inputs[target.index]);
        test::expect_error<AutogradError>([&] { run_backward(results[0], create_graph); },
                                          {"modified by an in-place operation"});
      }
}

// The reported case: softmax's recorded backward (create_graph) recomputes its output from
// its input, which it did not save, so a changed input gave a wrong second derivative.
TEST(SavedTensors, SoftmaxInputChangedBeforeCreateGraphBackward) {
  for (bool log : {false, true}) {
    Tensor a = x({2, 3});
    Tensor h = a * 1;  // a non-leaf, changed in place while recording
    Tensor y = log ? log_softmax(h, 1) : softmax(h, 1);
    h.add_(1);
    test::expect_error<AutogradError>(
        [&] { autograd::grad({(y * y).sum()}, {a}, {}, std::nullopt, /*create_graph=*/true); },
        {log ? "'log_softmax'" : "'softmax'", "modified by an in-place operation"});
  }
}
