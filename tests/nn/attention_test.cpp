// Attention: scaled_dot_product_attention and MultiheadAttention against PyTorch
// (tests/reference/attention_reference.py: outputs and the gradients of every input and
// parameter, f32 at 1e-5 relative to each tensor's scale), with every option and mask kind;
// float64 gradient checks of sdpa and of a small multi-head attention; causal masking by
// perturbation; fully masked rows (NaN, as PyTorch); dropout on the weights; errors.
#include "attention_parity.h"
#include "cajal/nn/attention.h"
#include "cajal/ops/attention.h"

using namespace cajal;
using test::AttentionCase;

namespace {

test::NormalSampler normal(20261127);

// A bool [rows, cols] mask with `value` where keep(i, j) holds (every row keeps some j).
Tensor pattern_mask(int64_t rows, int64_t cols, const std::function<bool(int64_t, int64_t)>& keep, bool value = true) {
  std::vector<bool> bits;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) bits.push_back(keep(i, j) ? value : !value);
  Tensor mask = zeros({rows, cols}, {.dtype = DType::boolean});
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) mask.at<bool>({i, j}) = bits[i * cols + j];
  return mask;
}

bool sparse_pattern(int64_t i, int64_t j) { return (i + 2 * j) % 3 != 0; }

Tensor joined(const nn::AttentionOutput& r) { return cat({r.output.flatten(), r.weights.flatten()}); }

// ------------------------------------------------------------------ scaled_dot_product_attention

std::vector<AttentionCase> sdpa_cases() {
  auto sdpa_case = [](std::string torch_call, TensorList inputs, std::function<Tensor(const TensorList&)> call) {
    return AttentionCase{"-", std::move(torch_call), nullptr, std::move(inputs), std::move(call)};
  };
  Tensor q = normal({2, 3, 5, 8}), k = normal({2, 3, 7, 8}), v = normal({2, 3, 7, 6});
  Tensor allowed = pattern_mask(5, 7, sparse_pattern);
  Tensor one_row_masked = pattern_mask(5, 7, [](int64_t i, int64_t) { return i != 2; });
  return {
      sdpa_case("sdpa(i0, i1, i2)", {q, k, v}, [](const TensorList& t) { return scaled_dot_product_attention(t[0], t[1], t[2]); }),
      sdpa_case("sdpa(i0, i1, i2, attn_mask=i3)", {q, k, v, allowed},
                [](const TensorList& t) { return scaled_dot_product_attention(t[0], t[1], t[2], t[3]); }),
      // A float mask broadcast over the heads; its gradient is compared too.
      sdpa_case("sdpa(i0, i1, i2, attn_mask=i3)", {q, k, v, normal({2, 1, 5, 7})},
                [](const TensorList& t) { return scaled_dot_product_attention(t[0], t[1], t[2], t[3]); }),
      sdpa_case("sdpa(i0, i1, i2, is_causal=True)", {q, normal({2, 3, 5, 8}), normal({2, 3, 5, 6})},
                [](const TensorList& t) { return scaled_dot_product_attention(t[0], t[1], t[2], {}, 0, true); }),
      // L != S: the top-left aligned triangle.
      sdpa_case("sdpa(i0, i1, i2, is_causal=True)", {q, k, v},
                [](const TensorList& t) { return scaled_dot_product_attention(t[0], t[1], t[2], {}, 0, true); }),
      // Batch dims broadcast: one key/value set for every batch entry; unbatched 2-D inputs.
      sdpa_case("sdpa(i0, i1, i2)", {q, normal({3, 7, 8}), normal({3, 7, 6})},
                [](const TensorList& t) { return scaled_dot_product_attention(t[0], t[1], t[2]); }),
      sdpa_case("sdpa(i0, i1, i2)", {normal({5, 8}), normal({7, 8}), normal({7, 4})},
                [](const TensorList& t) { return scaled_dot_product_attention(t[0], t[1], t[2]); }),
      // Non-contiguous inputs: heads of a [L, N, H, D] tensor.
      sdpa_case("sdpa(i0.permute(1, 2, 0, 3), i1.permute(1, 2, 0, 3), i2.permute(1, 2, 0, 3))",
                {normal({5, 2, 3, 4}), normal({7, 2, 3, 4}), normal({7, 2, 3, 4})},
                [](const TensorList& t) {
                  return scaled_dot_product_attention(t[0].permute({1, 2, 0, 3}), t[1].permute({1, 2, 0, 3}),
                                                      t[2].permute({1, 2, 0, 3}));
                }),
      // A query allowed no key: NaN output row and NaN gradients, as PyTorch.
      sdpa_case("sdpa(i0, i1, i2, attn_mask=i3)", {q, k, v, one_row_masked},
                [](const TensorList& t) { return scaled_dot_product_attention(t[0], t[1], t[2], t[3]); }),
  };
}

TEST(ScaledDotProductAttention, MatchesPyTorch) { test::expect_attention_cases_match_torch(sdpa_cases()); }

TEST(ScaledDotProductAttention, FullyMaskedRowIsNaN) {
  Tensor mask = pattern_mask(5, 7, [](int64_t i, int64_t) { return i != 2; });
  Tensor out = scaled_dot_product_attention(normal({5, 8}), normal({7, 8}), normal({7, 6}), mask);
  EXPECT_TRUE(isnan(out[2]).to(DType::i64).sum().item<int64_t>() == 6);
  EXPECT_TRUE(isfinite(out.narrow(0, 0, 2)).to(DType::i64).sum().item<int64_t>() == 12);
}

TEST(ScaledDotProductAttention, Gradcheck) {
  Tensor q = test::gradcheck_leaf({2, 3, 4}, 0.1), k = test::gradcheck_leaf({2, 5, 4}, 0.7),
         v = test::gradcheck_leaf({2, 5, 3}, 1.3), float_mask = test::gradcheck_leaf({3, 5}, 2.1);
  Tensor allowed = pattern_mask(3, 5, sparse_pattern);
  test::expect_gradcheck([](const TensorList& t) { return scaled_dot_product_attention(t[0], t[1], t[2]); }, {q, k, v}, true);
  test::expect_gradcheck([](const TensorList& t) { return scaled_dot_product_attention(t[0], t[1], t[2], t[3]); },
                         {q, k, v, float_mask}, true);
  test::expect_gradcheck(
      [allowed](const TensorList& t) { return scaled_dot_product_attention(t[0], t[1], t[2], allowed); }, {q, k, v});
  test::expect_gradcheck(
      [](const TensorList& t) { return scaled_dot_product_attention(t[0], t[1], t[2], {}, 0, true); }, {q, k, v});
}

// Changing the keys and values after step t leaves the outputs up to t unchanged.
TEST(ScaledDotProductAttention, CausalOutputIgnoresTheFuture) {
  Tensor q = normal({2, 6, 4}), k = normal({2, 6, 4}), v = normal({2, 6, 3});
  Tensor out = scaled_dot_product_attention(q, k, v, {}, 0, true);
  for (int64_t t = 0; t < 5; ++t) {
    Tensor k2 = k.clone(), v2 = v.clone();
    k2.narrow(1, t + 1, 5 - t).copy_(normal({2, 5 - t, 4}));
    v2.narrow(1, t + 1, 5 - t).copy_(normal({2, 5 - t, 3}));
    Tensor out2 = scaled_dot_product_attention(q, k2, v2, {}, 0, true);
    EXPECT_TRUE(test::all_close(out2.narrow(1, 0, t + 1), out.narrow(1, 0, t + 1), 0, 0)) << "step " << t;
    EXPECT_FALSE(test::all_close(out2.narrow(1, t + 1, 5 - t), out.narrow(1, t + 1, 5 - t), 1e-3, 1e-3)) << "step " << t;
  }
  // The causal flag equals the explicit mask.
  EXPECT_TRUE(test::all_close(out, scaled_dot_product_attention(q, k, v, causal_mask(6)), 1e-6, 1e-7));
}

TEST(ScaledDotProductAttention, CausalMaskConvention) {
  Tensor m = causal_mask(3);
  EXPECT_EQ(m.dtype(), DType::boolean);
  EXPECT_TRUE(m.at<bool>({0, 0}) && !m.at<bool>({0, 1}) && m.at<bool>({2, 1}) && m.at<bool>({2, 2}) && !m.at<bool>({1, 2}));
}

TEST(ScaledDotProductAttention, DropoutZeroesAndRescalesWeights) {
  Tensor q = normal({4, 5, 8}), k = normal({4, 6, 8}), v = eye(6).expand({4, 6, 6});
  // With v the identity, the output rows are the attention weights themselves.
  Tensor plain = scaled_dot_product_attention(q, k, v);
  Tensor dropped = scaled_dot_product_attention(q, k, v, {}, 0.5);
  Tensor zero = dropped <= 0.0;  // weights are never negative
  EXPECT_TRUE(test::all_close(where(zero, scalar_tensor(0.0f), dropped), where(zero, scalar_tensor(0.0f), plain * 2.0), 1e-6, 1e-7));
  double zero_fraction = zero.to(DType::f64).mean().item<double>();
  EXPECT_GT(zero_fraction, 0.35);
  EXPECT_LT(zero_fraction, 0.65);
}

TEST(ScaledDotProductAttention, Errors) {
  Tensor q = normal({2, 5, 8}), k = normal({2, 7, 8}), v = normal({2, 7, 6});
  test::expect_error<ShapeError>([&] { scaled_dot_product_attention(q, normal({2, 7, 4}), v); },
                                 {"scaled_dot_product_attention", "[2, 5, 8]", "[2, 7, 4]", "8 != 4"});
  test::expect_error<ShapeError>([&] { scaled_dot_product_attention(q, k, normal({2, 6, 6})); },
                                 {"scaled_dot_product_attention", "7 != 6"});
  test::expect_error<ShapeError>([&] { scaled_dot_product_attention(q, k, v, ones({5, 6}, {.dtype = DType::boolean})); },
                                 {"attn_mask of shape [5, 6]", "[2, 5, 7]"});
  test::expect_error<ValueError>([&] { scaled_dot_product_attention(q, k, v, causal_mask(5), 0, true); },
                                 {"either attn_mask or is_causal"});
  test::expect_error<DTypeError>([&] { scaled_dot_product_attention(q, k.to(DType::f64), v); }, {"one dtype"});
  test::expect_error<ValueError>([&] { scaled_dot_product_attention(q, k, v, {}, 1.5); }, {"dropout_p", "1.5"});
}

// ------------------------------------------------------------------ MultiheadAttention

constexpr int64_t E = 8, H = 2, L = 4, S = 6, N = 3;

std::vector<AttentionCase> mha_cases() {
  std::vector<AttentionCase> cases;
  auto add = [&](std::string torch_module, std::string torch_call, nn::ModulePtr module, TensorList inputs,
                 std::function<Tensor(const TensorList&)> call, bool train = false) {
    cases.push_back({std::move(torch_module), std::move(torch_call), std::move(module), std::move(inputs), std::move(call), train});
  };
  Tensor x = normal({L, N, E}), q = normal({L, N, E}), k = normal({S, N, E}), v = normal({S, N, E});
  Tensor padding = pattern_mask(N, S, [](int64_t n, int64_t s) { return s >= S - n; }, true);   // true = padded
  Tensor self_padding = pattern_mask(N, L, [](int64_t n, int64_t s) { return s >= L - n; }, true);
  Tensor banned = pattern_mask(L, S, sparse_pattern, false);  // true where NOT allowed

  {  // self-attention (one GEMM), averaged weights; in training mode (dropout 0)
    nn::MultiheadAttention m(E, H);
    add("nn.MultiheadAttention(8, 2)", "both(m(i0, i0, i0))", m, {x},
        [m](const TensorList& t) { return joined(m->forward(t[0], t[0], t[0])); }, true);
  }
  {  // self-attention without weights (the fused op), batch_first, key padding and a float mask
    nn::MultiheadAttention m(E, H, {.batch_first = true});
    add("nn.MultiheadAttention(8, 2, batch_first=True)", "m(i0, i0, i0, key_padding_mask=i1, attn_mask=i2, need_weights=False)[0]",
        m, {normal({N, L, E}), self_padding, normal({L, L})},
        [m](const TensorList& t) { return m->forward(t[0], t[0], t[0], t[1], false, t[2]).output; });
  }
  {  // per-head weights
    nn::MultiheadAttention m(E, H);
    add("nn.MultiheadAttention(8, 2)", "both(m(i0, i0, i0, average_attn_weights=False))", m, {x},
        [m](const TensorList& t) { return joined(m->forward(t[0], t[0], t[0], {}, true, {}, false)); });
  }
  {  // cross-attention, no weights
    nn::MultiheadAttention m(E, H);
    add("nn.MultiheadAttention(8, 2)", "m(i0, i1, i2, need_weights=False)[0]", m, {q, k, v},
        [m](const TensorList& t) { return m->forward(t[0], t[1], t[2], {}, false).output; });
  }
  {  // key and value the same tensor (one GEMM for both)
    nn::MultiheadAttention m(E, H);
    add("nn.MultiheadAttention(8, 2)", "both(m(i0, i1, i1))", m, {q, k},
        [m](const TensorList& t) { return joined(m->forward(t[0], t[1], t[1])); });
  }
  {  // kdim and vdim: separate projection weights
    nn::MultiheadAttention m(E, H, {.kdim = 5, .vdim = 3});
    add("nn.MultiheadAttention(8, 2, kdim=5, vdim=3)", "both(m(i0, i1, i2))", m, {q, normal({S, N, 5}), normal({S, N, 3})},
        [m](const TensorList& t) { return joined(m->forward(t[0], t[1], t[2])); });
  }
  {  // no biases
    nn::MultiheadAttention m(E, 4, {.bias = false});
    add("nn.MultiheadAttention(8, 4, bias=False)", "both(m(i0, i1, i2))", m, {q, k, v},
        [m](const TensorList& t) { return joined(m->forward(t[0], t[1], t[2])); });
  }
  {  // batch_first self-attention with key padding
    nn::MultiheadAttention m(E, H, {.batch_first = true});
    add("nn.MultiheadAttention(8, 2, batch_first=True)", "both(m(i0, i0, i0, key_padding_mask=i1))", m,
        {normal({N, L, E}), self_padding},
        [m](const TensorList& t) { return joined(m->forward(t[0], t[0], t[0], t[1])); });
  }
  {  // batch_first cross-attention with kdim
    nn::MultiheadAttention m(E, H, {.batch_first = true, .kdim = 5});
    add("nn.MultiheadAttention(8, 2, batch_first=True, kdim=5)", "m(i0, i1, i2)[0]", m,
        {normal({N, L, E}), normal({N, S, 5}), normal({N, S, E})},
        [m](const TensorList& t) { return m->forward(t[0], t[1], t[2]).output; });
  }
  {  // bool key padding mask
    nn::MultiheadAttention m(E, H);
    add("nn.MultiheadAttention(8, 2)", "both(m(i0, i1, i2, key_padding_mask=i3))", m, {q, k, v, padding},
        [m](const TensorList& t) { return joined(m->forward(t[0], t[1], t[2], t[3])); });
  }
  {  // float key padding mask (added)
    nn::MultiheadAttention m(E, H);
    add("nn.MultiheadAttention(8, 2)", "m(i0, i1, i2, key_padding_mask=i3)[0]", m, {q, k, v, normal({N, S})},
        [m](const TensorList& t) { return m->forward(t[0], t[1], t[2], t[3]).output; });
  }
  {  // bool 2-D attn_mask (true = not allowed)
    nn::MultiheadAttention m(E, H);
    add("nn.MultiheadAttention(8, 2)", "both(m(i0, i1, i2, attn_mask=i3))", m, {q, k, v, banned},
        [m](const TensorList& t) { return joined(m->forward(t[0], t[1], t[2], {}, true, t[3])); });
  }
  {  // float 2-D attn_mask
    nn::MultiheadAttention m(E, H);
    add("nn.MultiheadAttention(8, 2)", "m(i0, i1, i2, attn_mask=i3)[0]", m, {q, k, v, normal({L, S})},
        [m](const TensorList& t) { return m->forward(t[0], t[1], t[2], {}, false, t[3]).output; });
  }
  {  // float 3-D attn_mask (per batch entry and head) with a bool key padding mask
    nn::MultiheadAttention m(E, H);
    add("nn.MultiheadAttention(8, 2)", "both(m(i0, i1, i2, key_padding_mask=i4, attn_mask=i3, average_attn_weights=False))",
        m, {q, k, v, normal({N * H, L, S}), padding},
        [m](const TensorList& t) { return joined(m->forward(t[0], t[1], t[2], t[4], true, t[3], false)); });
  }
  {  // bool attn_mask and bool key padding mask together
    nn::MultiheadAttention m(E, H);
    add("nn.MultiheadAttention(8, 2)", "both(m(i0, i1, i2, key_padding_mask=i4, attn_mask=i3))", m,
        {q, k, v, banned, pattern_mask(N, S, [](int64_t n, int64_t s) { return s == n; }, true)},
        [m](const TensorList& t) { return joined(m->forward(t[0], t[1], t[2], t[4], true, t[3])); });
  }
  {  // is_causal (torch 1.13 has no such flag: the explicit mask there)
    nn::MultiheadAttention m(E, H);
    add("nn.MultiheadAttention(8, 2)", "both(m(i0, i0, i0, attn_mask=causal(4)))", m, {x},
        [m](const TensorList& t) { return joined(m->forward(t[0], t[0], t[0], {}, true, {}, true, true)); });
  }
  {  // is_causal with key padding
    nn::MultiheadAttention m(E, H);
    add("nn.MultiheadAttention(8, 2)", "m(i0, i0, i0, key_padding_mask=i1, attn_mask=causal(4))[0]", m, {x, self_padding},
        [m](const TensorList& t) { return m->forward(t[0], t[0], t[0], t[1], false, {}, true, true).output; });
  }
  {  // unbatched, with a key padding mask
    nn::MultiheadAttention m(E, H);
    add("nn.MultiheadAttention(8, 2)", "both(m(i0, i1, i2, key_padding_mask=i3))", m,
        {normal({L, E}), normal({S, E}), normal({S, E}), pattern_mask(1, S, [](int64_t, int64_t s) { return s == 1; }).view({S})},
        [m](const TensorList& t) { return joined(m->forward(t[0], t[1], t[2], t[3])); });
  }
  {  // unbatched self-attention, batch_first, per-head weights
    nn::MultiheadAttention m(E, H, {.batch_first = true});
    add("nn.MultiheadAttention(8, 2, batch_first=True)", "both(m(i0, i0, i0, average_attn_weights=False))", m,
        {normal({L, E})}, [m](const TensorList& t) { return joined(m->forward(t[0], t[0], t[0], {}, true, {}, false)); });
  }
  {  // a batch entry whose keys are all padding: NaN there, as PyTorch
    nn::MultiheadAttention m(E, H);
    add("nn.MultiheadAttention(8, 2)", "m(i0, i1, i2, key_padding_mask=i3)[0]", m,
        {q, k, v, pattern_mask(N, S, [](int64_t n, int64_t) { return n == 1; })},
        [m](const TensorList& t) { return m->forward(t[0], t[1], t[2], t[3]).output; });
  }
  return cases;
}

TEST(MultiheadAttention, MatchesPyTorch) { test::expect_attention_cases_match_torch(mha_cases()); }

TEST(MultiheadAttention, ParametersAndInitAsPyTorch) {
  nn::MultiheadAttention m(8, 2);
  std::string names;
  for (const auto& [name, p] : m->named_parameters()) names += name + " ";
  EXPECT_EQ(names, "in_proj_weight in_proj_bias out_proj.weight out_proj.bias ");
  nn::MultiheadAttention separate(8, 2, {.bias = false, .kdim = 5});
  names.clear();
  for (const auto& [name, p] : separate->named_parameters()) names += name + " ";
  EXPECT_EQ(names, "q_proj_weight k_proj_weight v_proj_weight out_proj.weight ");
  EXPECT_EQ(separate->k_proj_weight.sizes(), (Dims{8, 5}));
  // xavier_uniform_ bound sqrt(6 / (fan_in + fan_out)) = sqrt(6 / (8 + 24)); biases zero.
  double bound = std::sqrt(6.0 / 32);
  EXPECT_LE(max(abs(m->in_proj_weight)).item<float>(), bound);
  EXPECT_GT(max(abs(m->in_proj_weight)).item<float>(), 0.9 * bound);
  EXPECT_EQ(max(abs(m->in_proj_bias)).item<float>(), 0.0f);
  EXPECT_EQ(max(abs(m->out_proj->bias())).item<float>(), 0.0f);
  EXPECT_LE(max(abs(m->out_proj->weight())).item<float>(), 1 / std::sqrt(8.0));
}

// Float64 gradient check of the whole module's math, inputs and every parameter.
TEST(MultiheadAttention, Gradcheck) {
  Tensor x = test::gradcheck_leaf({3, 2, 4}, 0.2), in_w = test::gradcheck_leaf({12, 4}, 0.9),
         in_b = test::gradcheck_leaf({12}, 1.4), out_w = test::gradcheck_leaf({4, 4}, 2.3), out_b = test::gradcheck_leaf({4}, 3.1);
  Tensor padding = pattern_mask(2, 3, [](int64_t n, int64_t s) { return n == 1 && s == 2; });
  test::expect_gradcheck([padding](const TensorList& t) {
    nn::MultiheadAttentionWeights w{.in_proj_weight = t[1], .in_proj_bias = t[2], .out_proj_weight = t[3], .out_proj_bias = t[4]};
    return joined(nn::multi_head_attention_forward(t[0], t[0], t[0], 2, w, padding));
  }, {x, in_w, in_b, out_w, out_b});
  Tensor k = test::gradcheck_leaf({5, 2, 3}, 0.5), qw = test::gradcheck_leaf({4, 4}, 0.6),
         kw = test::gradcheck_leaf({4, 3}, 0.8), vw = test::gradcheck_leaf({4, 3}, 1.1);
  test::expect_gradcheck([](const TensorList& t) {
    nn::MultiheadAttentionWeights w{.q_proj_weight = t[2], .k_proj_weight = t[3], .v_proj_weight = t[4], .out_proj_weight = t[5]};
    return joined(nn::multi_head_attention_forward(t[0], t[1], t[1], 2, w, {}, true, {}, false));
  }, {x.detach().requires_grad_(), k, qw, kw, vw, out_w});
}

// Without weights the module runs the fused multi_head_attention op (gradients written block
// by block into the projections): first and second derivatives, packed self-attention with
// a float mask (its gradient too) and key padding, and separate projections with causal masking.
TEST(MultiheadAttention, FusedPathGradcheck) {
  Tensor x = test::gradcheck_leaf({3, 2, 4}, 0.2), in_w = test::gradcheck_leaf({12, 4}, 0.9),
         in_b = test::gradcheck_leaf({12}, 1.4), out_w = test::gradcheck_leaf({4, 4}, 2.3),
         float_mask = test::gradcheck_leaf({3, 3}, 2.9);
  Tensor padding = pattern_mask(2, 3, [](int64_t n, int64_t s) { return n == 1 && s == 2; });
  auto self_attention = [padding](const TensorList& t) {
    nn::MultiheadAttentionWeights w{.in_proj_weight = t[1], .in_proj_bias = t[2], .out_proj_weight = t[3]};
    return nn::multi_head_attention_forward(t[0], t[0], t[0], 2, w, padding, false, t[4]).output;
  };
  test::expect_gradcheck(self_attention, {x, in_w, in_b, out_w, float_mask}, true);
  Tensor q = test::gradcheck_leaf({2, 3, 4}, 0.4), k = test::gradcheck_leaf({2, 5, 3}, 0.5),
         qw = test::gradcheck_leaf({4, 4}, 0.6), kw = test::gradcheck_leaf({4, 3}, 0.8), vw = test::gradcheck_leaf({4, 3}, 1.1);
  test::expect_gradcheck([](const TensorList& t) {
    nn::MultiheadAttentionWeights w{.q_proj_weight = t[2], .k_proj_weight = t[3], .v_proj_weight = t[4], .out_proj_weight = t[5]};
    return nn::multi_head_attention_forward(t[0], t[1], t[1], 2, w, {}, false, {}, true, true, 0, true).output;
  }, {q, k, qw, kw, vw, out_w}, true);
}

// With dropout, the fused op draws the same mask as the path that returns the weights (one
// draw per weight, in order), so the two give the same output and gradients; and with the
// generator reseeded on every call, the dropped function passes a float64 gradient check.
TEST(MultiheadAttention, FusedPathDropout) {
  nn::MultiheadAttention m(E, H, {.dropout = 0.3});
  Tensor x = normal({L, N, E});
  auto run = [&](bool need_weights) {
    m->zero_grad();
    Tensor leaf = x.clone().requires_grad_();
    manual_seed(7);
    Tensor out = m->forward(leaf, leaf, leaf, {}, need_weights).output;
    out.backward(x);
    TensorList results{out.detach(), leaf.grad()};
    for (const Tensor& p : m->parameters()) results.push_back(p.grad());
    return results;
  };
  TensorList fused = run(false), plain = run(true);
  for (size_t i = 0; i < fused.size(); ++i) EXPECT_TRUE(test::all_close(fused[i], plain[i], 1e-5, 1e-6)) << "result " << i;
  Tensor xd = test::gradcheck_leaf({3, 2, 4}, 0.2), in_w = test::gradcheck_leaf({12, 4}, 0.9),
         out_w = test::gradcheck_leaf({4, 4}, 2.3);
  test::expect_gradcheck([](const TensorList& t) {
    manual_seed(11);
    nn::MultiheadAttentionWeights w{.in_proj_weight = t[1], .out_proj_weight = t[2]};
    return nn::multi_head_attention_forward(t[0], t[0], t[0], 2, w, {}, false, {}, true, false, 0.4).output;
  }, {xd, in_w, out_w}, true);
}

TEST(MultiheadAttention, CausalOutputIgnoresLaterInputs) {
  nn::MultiheadAttention m(E, H, {.batch_first = true});
  Tensor x = normal({2, 6, E});
  Tensor out = m->forward(x, x, x, {}, false, {}, true, true).output;
  for (int64_t t = 0; t < 5; ++t) {
    Tensor x2 = x.clone();
    x2.narrow(1, t + 1, 5 - t).copy_(normal({2, 5 - t, E}));
    Tensor out2 = m->forward(x2, x2, x2, {}, false, {}, true, true).output;
    EXPECT_TRUE(test::all_close(out2.narrow(1, 0, t + 1), out.narrow(1, 0, t + 1), 1e-6, 1e-7)) << "step " << t;
    EXPECT_FALSE(test::all_close(out2.narrow(1, t + 1, 5 - t), out.narrow(1, t + 1, 5 - t), 1e-3, 1e-3)) << "step " << t;
  }
}

// In training mode the returned weights are the eval-mode weights with dropout applied.
TEST(MultiheadAttention, DropoutOnWeights) {
  nn::MultiheadAttention m(E, H, {.dropout = 0.5});
  Tensor x = normal({L, 16, E});
  m->eval();
  Tensor plain = m->forward(x, x, x, {}, true, {}, false).weights;
  m->train();
  Tensor dropped = m->forward(x, x, x, {}, true, {}, false).weights;
  Tensor zero = dropped <= 0.0;  // weights are never negative
  EXPECT_TRUE(test::all_close(where(zero, scalar_tensor(0.0f), dropped), where(zero, scalar_tensor(0.0f), plain * 2.0), 1e-5, 1e-6));
  double zero_fraction = zero.to(DType::f64).mean().item<double>();
  EXPECT_GT(zero_fraction, 0.4);
  EXPECT_LT(zero_fraction, 0.6);
}

TEST(MultiheadAttention, Errors) {
  test::expect_error<ValueError>([] { nn::MultiheadAttention(10, 3); }, {"MultiheadAttention", "embed_dim 10", "num_heads 3"});
  nn::MultiheadAttention m(E, H);
  Tensor q = normal({L, N, E}), k = normal({S, N, E});
  test::expect_error<ShapeError>([&] { m->forward(q, k, k, {}, true, zeros({L, S - 1})); },
                                 {"2-D attn_mask has shape [4, 5]", "[L, S] = [4, 6]"});
  test::expect_error<ShapeError>([&] { m->forward(q, k, k, {}, true, zeros({N, L, S})); },
                                 {"3-D attn_mask has shape [3, 4, 6]", "[N * num_heads, L, S] = [6, 4, 6]"});
  test::expect_error<ShapeError>([&] { m->forward(q, k, k, zeros({N, S + 1}, {.dtype = DType::boolean})); },
                                 {"key_padding_mask has shape [3, 7]", "[N, S] = [3, 6]"});
  test::expect_error<ShapeError>([&] { m->forward(q, normal({S, N, 5}), k); }, {"features 8, 8 and 8", "[6, 3, 5]"});
  test::expect_error<ShapeError>([&] { m->forward(q, normal({S, N + 1, E}), normal({S, N + 1, E})); }, {"batch size"});
  test::expect_error<ShapeError>([&] { m->forward(q, normal({S, E}), normal({S, E})); }, {"3-D (batched)", "2-D (unbatched)"});
}

}  // namespace
