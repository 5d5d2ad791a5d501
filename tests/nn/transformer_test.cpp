// Transformer layers and stacks against PyTorch's modules (tests/reference/attention_reference.py:
// outputs and the gradients of every input and parameter, f32 at 1e-5 relative to each
// tensor's scale): post- and pre-norm, ReLU and GELU, batch_first, unbatched inputs, float and
// bool masks, key padding, causal self-attention, decoder memory masks, stacks with and without
// a final norm; causal masking by perturbation; positional encodings against the tutorial's
// formula; copies in stacks; errors.
#include "attention_parity.h"
#include "cajal/nn/transformer.h"

using namespace cajal;
using test::AttentionCase;

namespace {

test::NormalSampler normal(1127);

constexpr int64_t E = 8, T = 4, S = 5, N = 3;

// Bool [rows, cols], true where padded(row, col): key padding masks (true = ignore).
Tensor padding_mask(int64_t rows, int64_t cols, const std::function<bool(int64_t, int64_t)>& padded) {
  Tensor mask = zeros({rows, cols}, {.dtype = DType::boolean});
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) mask.at<bool>({i, j}) = padded(i, j);
  return mask;
}

// The last n - i positions of row i are padding (row 0 none).
Tensor ragged_padding(int64_t rows, int64_t cols) {
  return padding_mask(rows, cols, [cols](int64_t i, int64_t j) { return j >= cols - i; });
}

nn::TransformerLayerOptions no_dropout(nn::TransformerLayerOptions o = {}) {
  o.dim_feedforward = 16;
  o.dropout = 0;
  return o;
}

std::vector<AttentionCase> encoder_layer_cases() {
  std::vector<AttentionCase> cases;
  auto add = [&](std::string torch_module, std::string torch_call, nn::ModulePtr module, TensorList inputs,
                 std::function<Tensor(const TensorList&)> call, bool train = true) {
    cases.push_back({std::move(torch_module), std::move(torch_call), std::move(module), std::move(inputs), std::move(call), train});
  };
  Tensor x = normal({S, N, E});
  {
    nn::TransformerEncoderLayer m(E, 2, no_dropout());
    add("nn.TransformerEncoderLayer(8, 2, 16, 0.0)", "m(i0)", m, {x}, [m](const TensorList& t) { return m->forward(t[0]); });
  }
  {  // float mask and bool key padding
    nn::TransformerEncoderLayer m(E, 2, no_dropout());
    add("nn.TransformerEncoderLayer(8, 2, 16, 0.0)", "m(i0, src_mask=i1, src_key_padding_mask=i2)", m,
        {x, normal({S, S}), ragged_padding(N, S)}, [m](const TensorList& t) { return m->forward(t[0], t[1], t[2]); });
  }
  {  // bool mask (true = not allowed), pre-norm, GELU
    nn::TransformerEncoderLayer m(E, 4, no_dropout({.activation = "gelu", .norm_first = true}));
    add("nn.TransformerEncoderLayer(8, 4, 16, 0.0, activation='gelu', norm_first=True)", "m(i0, src_mask=causal(5))", m,
        {x}, [m](const TensorList& t) { return m->forward(t[0], logical_not(causal_mask(S))); });
  }
  {  // is_causal (torch 1.13 takes the mask), batch_first, key padding, eval mode with dropout
    nn::TransformerEncoderLayer m(E, 2, {.dim_feedforward = 16, .layer_norm_eps = 1e-6, .batch_first = true});
    add("nn.TransformerEncoderLayer(8, 2, 16, layer_norm_eps=1e-6, batch_first=True)",
        "m(i0, src_mask=causal(5), src_key_padding_mask=i1)", m, {normal({N, S, E}), ragged_padding(N, S)},
        [m](const TensorList& t) { return m->forward(t[0], {}, t[1], true); }, false);
  }
  {  // unbatched, pre-norm
    nn::TransformerEncoderLayer m(E, 2, no_dropout({.norm_first = true}));
    add("nn.TransformerEncoderLayer(8, 2, 16, 0.0, norm_first=True)", "m(i0)", m, {normal({S, E})},
        [m](const TensorList& t) { return m->forward(t[0]); });
  }
  return cases;
}

std::vector<AttentionCase> decoder_layer_cases() {
  std::vector<AttentionCase> cases;
  auto add = [&](std::string torch_module, std::string torch_call, nn::ModulePtr module, TensorList inputs,
                 std::function<Tensor(const TensorList&)> call, bool train = true) {
    cases.push_back({std::move(torch_module), std::move(torch_call), std::move(module), std::move(inputs), std::move(call), train});
  };
  Tensor tgt = normal({T, N, E}), memory = normal({S, N, E});
  {
    nn::TransformerDecoderLayer m(E, 2, no_dropout());
    add("nn.TransformerDecoderLayer(8, 2, 16, 0.0)", "m(i0, i1)", m, {tgt, memory},
        [m](const TensorList& t) { return m->forward(t[0], t[1]); });
  }
  {  // every mask: causal float tgt_mask, float memory_mask, both key paddings
    nn::TransformerDecoderLayer m(E, 2, no_dropout());
    add("nn.TransformerDecoderLayer(8, 2, 16, 0.0)",
        "m(i0, i1, tgt_mask=i2, memory_mask=i3, tgt_key_padding_mask=i4, memory_key_padding_mask=i5)", m,
        {tgt, memory, nn::square_subsequent_mask(T), normal({T, S}), ragged_padding(N, T), ragged_padding(N, S)},
        [m](const TensorList& t) { return m->forward(t[0], t[1], t[2], t[3], t[4], t[5]); });
  }
  {  // pre-norm, GELU, batch_first, bool memory mask, tgt_is_causal; eval mode with dropout
    nn::TransformerDecoderLayer m(E, 4, {.dim_feedforward = 16, .activation = "gelu", .batch_first = true, .norm_first = true});
    Tensor banned = padding_mask(T, S, [](int64_t i, int64_t j) { return (i + j) % 3 == 0; });
    add("nn.TransformerDecoderLayer(8, 4, 16, activation='gelu', batch_first=True, norm_first=True)",
        "m(i0, i1, tgt_mask=causal(4), memory_mask=i2, memory_key_padding_mask=i3)", m,
        {normal({N, T, E}), normal({N, S, E}), banned, ragged_padding(N, S)},
        [m](const TensorList& t) { return m->forward(t[0], t[1], {}, t[2], {}, t[3], true); }, false);
  }
  {  // unbatched
    nn::TransformerDecoderLayer m(E, 2, no_dropout());
    add("nn.TransformerDecoderLayer(8, 2, 16, 0.0)", "m(i0, i1)", m, {normal({T, E}), normal({S, E})},
        [m](const TensorList& t) { return m->forward(t[0], t[1]); });
  }
  return cases;
}

std::vector<AttentionCase> stack_cases() {
  std::vector<AttentionCase> cases;
  auto add = [&](std::string torch_module, std::string torch_call, nn::ModulePtr module, TensorList inputs,
                 std::function<Tensor(const TensorList&)> call, bool train = true) {
    cases.push_back({std::move(torch_module), std::move(torch_call), std::move(module), std::move(inputs), std::move(call), train});
  };
  Tensor x = normal({S, N, E});
  {  // layers drawn separately (so they differ), final norm, mask and padding
    nn::TransformerEncoder m(2, [] { return nn::TransformerEncoderLayer(E, 2, no_dropout()); }, nn::LayerNorm(E));
    add("nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, 0.0), 2, norm=nn.LayerNorm(8))",
        "m(i0, mask=i1, src_key_padding_mask=i2)", m, {x, nn::square_subsequent_mask(S), ragged_padding(N, S)},
        [m](const TensorList& t) { return m->forward(t[0], t[1], t[2]); });
  }
  {  // copies of one pre-norm GELU layer, no final norm, batch_first, causal
    nn::TransformerEncoder m(nn::TransformerEncoderLayer(E, 2, no_dropout({.activation = "gelu", .batch_first = true, .norm_first = true})), 3);
    add("nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, 0.0, activation='gelu', batch_first=True, norm_first=True), 3)",
        "m(i0, mask=causal(5))", m, {normal({N, S, E})}, [m](const TensorList& t) { return m->forward(t[0], {}, {}, true); });
  }
  {  // decoder stack with final norm and every mask
    nn::TransformerDecoder m(2, [] { return nn::TransformerDecoderLayer(E, 2, no_dropout()); }, nn::LayerNorm(E));
    add("nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, 0.0), 2, norm=nn.LayerNorm(8))",
        "m(i0, i1, tgt_mask=causal(4), memory_mask=i2, tgt_key_padding_mask=i3, memory_key_padding_mask=i4)", m,
        {normal({T, N, E}), normal({S, N, E}), normal({T, S}), ragged_padding(N, T), ragged_padding(N, S)},
        [m](const TensorList& t) { return m->forward(t[0], t[1], {}, t[2], t[3], t[4], true); });
  }
  {  // pre-norm decoder stack without final norm, eval mode with dropout
    nn::TransformerDecoder m(2, [] { return nn::TransformerDecoderLayer(E, 2, {.dim_feedforward = 16, .norm_first = true}); });
    add("nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, norm_first=True), 2)", "m(i0, i1)", m,
        {normal({T, N, E}), normal({S, N, E})}, [m](const TensorList& t) { return m->forward(t[0], t[1]); }, false);
  }
  return cases;
}

// Every case in one run of the reference script (each failure names its torch expression).
TEST(Transformer, LayersAndStacksMatchPyTorch) {
  std::vector<AttentionCase> cases = encoder_layer_cases();
  for (auto more : {decoder_layer_cases(), stack_cases()}) cases.insert(cases.end(), more.begin(), more.end());
  test::expect_attention_cases_match_torch(cases);
}

TEST(PositionalEncoding, EqualsTheTutorialFormula) {
  std::vector<AttentionCase> cases;
  auto add = [&](std::string torch_call, Tensor x, nn::PositionalEncoding pe) {
    cases.push_back({"-", std::move(torch_call), nullptr, {x}, [pe](const TensorList& t) { return pe->forward(t[0]); }});
  };
  // The whole table (zeros in), even and odd widths; then added to batches either way round.
  add("i0 + sinusoid_table(300, 6).float()", zeros({300, 6}), nn::PositionalEncoding(6, {.max_len = 300, .dropout = 0}));
  add("i0 + sinusoid_table(40, 7).float()", zeros({40, 7}), nn::PositionalEncoding(7, {.max_len = 40, .dropout = 0}));
  add("i0 + sinusoid_table(9, 6)[:, None, :].float()", normal({9, 2, 6}), nn::PositionalEncoding(6, {.max_len = 20, .dropout = 0}));
  add("i0 + sinusoid_table(9, 6)[None, :, :].float()", normal({2, 9, 6}),
      nn::PositionalEncoding(6, {.max_len = 20, .dropout = 0, .batch_first = true}));
  test::expect_attention_cases_match_torch(cases);

  nn::PositionalEncoding pe(4);
  EXPECT_EQ(pe->state_dict().at(0).first, "pe");
  EXPECT_EQ(pe->pe.sizes(), (Dims{5000, 4}));
  // Dropout (p = 0.1 by default) in training mode only.
  Tensor x = normal({50, 4, 4});
  EXPECT_FALSE(test::all_close(pe->forward(x), x + pe->pe.narrow(0, 0, 50).unsqueeze(1), 1e-6, 1e-6));
  pe->eval();
  EXPECT_TRUE(test::all_close(pe->forward(x), x + pe->pe.narrow(0, 0, 50).unsqueeze(1), 0, 0));
}

TEST(LearnedPositionalEncoding, AddsTheFirstRowsAndTrainsThem) {
  nn::LearnedPositionalEncoding pe(10, 4, {.batch_first = true});
  EXPECT_EQ(pe->named_parameters().at(0).first, "weight");
  EXPECT_EQ(pe->weight.sizes(), (Dims{10, 4}));
  double spread = pe->weight.to(DType::f64).square().mean().item<double>();  // N(0, 1): mean square near 1
  EXPECT_GT(spread, 0.4);
  EXPECT_LT(spread, 2.0);
  Tensor x = normal({3, 6, 4});
  Tensor out = pe->forward(x);
  EXPECT_TRUE(test::all_close(out, x + pe->weight.detach().narrow(0, 0, 6), 0, 0));
  Tensor g = normal({3, 6, 4});
  out.backward(g);
  EXPECT_TRUE(test::all_close(pe->weight.grad().narrow(0, 0, 6), g.sum({0}), 1e-6, 1e-6));
  EXPECT_TRUE(test::all_close(pe->weight.grad().narrow(0, 6, 4), zeros({4, 4}), 0, 0));
}

// Changing the inputs after step t leaves the outputs up to t unchanged, through a stack.
TEST(TransformerStacks, CausalOutputIgnoresLaterInputs) {
  nn::TransformerEncoder encoder(2, [] { return nn::TransformerEncoderLayer(E, 2, no_dropout()); }, nn::LayerNorm(E));
  nn::TransformerDecoder decoder(2, [] { return nn::TransformerDecoderLayer(E, 2, no_dropout({.norm_first = true})); });
  Tensor x = normal({6, 2, E}), memory = normal({S, 2, E});
  Tensor enc = encoder->forward(x, {}, {}, true), dec = decoder->forward(x, memory, {}, {}, {}, {}, true);
  for (int64_t t = 0; t < 5; ++t) {
    Tensor x2 = x.clone();
    x2.narrow(0, t + 1, 5 - t).copy_(normal({5 - t, 2, E}));
    Tensor enc2 = encoder->forward(x2, {}, {}, true), dec2 = decoder->forward(x2, memory, {}, {}, {}, {}, true);
    EXPECT_TRUE(test::all_close(enc2.narrow(0, 0, t + 1), enc.narrow(0, 0, t + 1), 1e-6, 1e-6)) << "step " << t;
    EXPECT_TRUE(test::all_close(dec2.narrow(0, 0, t + 1), dec.narrow(0, 0, t + 1), 1e-6, 1e-6)) << "step " << t;
    EXPECT_FALSE(test::all_close(enc2.narrow(0, t + 1, 5 - t), enc.narrow(0, t + 1, 5 - t), 1e-3, 1e-3)) << "step " << t;
    EXPECT_FALSE(test::all_close(dec2.narrow(0, t + 1, 5 - t), dec.narrow(0, t + 1, 5 - t), 1e-3, 1e-3)) << "step " << t;
  }
}

TEST(TransformerStacks, CopiesAndNames) {
  nn::TransformerEncoderLayer layer(E, 2, no_dropout());
  nn::TransformerEncoder copies(layer, 2, nn::LayerNorm(E));
  auto state = copies->state_dict();
  std::string names;
  for (const auto& [name, t] : state) names += name + " ";
  EXPECT_EQ(names,
            "layers.0.self_attn.in_proj_weight layers.0.self_attn.in_proj_bias layers.0.self_attn.out_proj.weight "
            "layers.0.self_attn.out_proj.bias layers.0.linear1.weight layers.0.linear1.bias layers.0.linear2.weight "
            "layers.0.linear2.bias layers.0.norm1.weight layers.0.norm1.bias layers.0.norm2.weight layers.0.norm2.bias "
            "layers.1.self_attn.in_proj_weight layers.1.self_attn.in_proj_bias layers.1.self_attn.out_proj.weight "
            "layers.1.self_attn.out_proj.bias layers.1.linear1.weight layers.1.linear1.bias layers.1.linear2.weight "
            "layers.1.linear2.bias layers.1.norm1.weight layers.1.norm1.bias layers.1.norm2.weight layers.1.norm2.bias "
            "norm.weight norm.bias ");
  // Copies start equal to the given layer (torch deep-copies it), yet are separate parameters.
  Tensor w0 = copies->layers->at<nn::TransformerEncoderLayerImpl>(0)->linear1->weight();
  Tensor w1 = copies->layers->at<nn::TransformerEncoderLayerImpl>(1)->linear1->weight();
  EXPECT_TRUE(test::all_close(w0, layer->linear1->weight(), 0, 0));
  EXPECT_TRUE(test::all_close(w1, layer->linear1->weight(), 0, 0));
  EXPECT_FALSE(w0.is_same(w1));
  nn::TransformerDecoderLayer decoder_layer(E, 2);
  names.clear();
  for (const auto& [name, child] : decoder_layer->named_children()) names += name + " ";
  EXPECT_EQ(names, "self_attn multihead_attn linear1 dropout linear2 norm1 norm2 norm3 dropout1 dropout2 dropout3 ");
  Tensor mask = nn::square_subsequent_mask(3);
  EXPECT_EQ(mask.at<float>({0, 0}), 0.0f);
  EXPECT_EQ(mask.at<float>({2, 1}), 0.0f);
  EXPECT_TRUE(std::isinf(mask.at<float>({0, 1})) && mask.at<float>({0, 1}) < 0);
}

TEST(Transformer, Errors) {
  test::expect_error<ValueError>([] { nn::TransformerEncoderLayer(10, 3); }, {"TransformerEncoderLayer", "d_model 10", "nhead 3"});
  test::expect_error<ValueError>([] { nn::TransformerDecoderLayer(8, 2, {.activation = "tanh"}); },
                                 {"TransformerDecoderLayer", "\"relu\" or \"gelu\"", "tanh"});
  nn::TransformerEncoderLayer layer(E, 2);
  test::expect_error<ShapeError>([&] { layer->forward(normal({S, N, E}), zeros({S, S + 1})); },
                                 {"attn_mask has shape [5, 6]", "[L, S] = [5, 5]"});
  test::expect_error<ShapeError>([&] { layer->forward(normal({S, N, E}), {}, zeros({N, S - 1}, {.dtype = DType::boolean})); },
                                 {"key_padding_mask has shape [3, 4]"});
  test::expect_error<ValueError>([] { nn::TransformerEncoder(nn::TransformerEncoderLayer(E, 2), 0); }, {"num_layers", "0"});
  nn::PositionalEncoding pe(E, {.max_len = 4});
  test::expect_error<ShapeError>([&] { pe->forward(normal({5, 2, E})); }, {"PositionalEncoding", "length 5", "max_len 4"});
  test::expect_error<ShapeError>([&] { pe->forward(normal({3, 2, E + 1})); }, {"d_model 8"});
}

}  // namespace
