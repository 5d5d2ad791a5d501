#pragma once
// Sampling text (or any tokens) from a language model: a model that maps token ids [1, T]
// to scores per step [1, T, V] (char_lstm, char_transformer), continued one token at a time.
//
//   Generator gen(seed);
//   Tensor next = models::generate_tokens(*model, vocab.encode(U"The "), {.length = 200, .temperature = 0.8,
//                                         .top_k = 20, .context = 128}, gen);
//
// Temperature divides the scores before the softmax: below 1 sharpens the distribution, above
// 1 flattens it, and 0 always takes the most likely token (greedy decoding, no randomness).
// top_k > 0 samples among the k highest scores only (tokens tied with the k-th stay in).
#include <cstdint>

#include "cajal/core/generator.h"
#include "cajal/nn/module.h"

namespace cajal::models {

struct SamplingOptions {
  int64_t length = 200;      // tokens to generate
  double temperature = 1.0;  // >= 0
  int64_t top_k = 0;         // 0: all tokens
  int64_t context = 0;       // > 0: the model sees at most the last `context` tokens (its training length)
};

// The next token from scores [V] (any floating dtype): one draw from `gen` (none when
// temperature is 0: the first of the highest scores).
int64_t sample_token(const Tensor& scores, double temperature, int64_t top_k, Generator& gen);

// The options.length tokens (int64 [length]) that follow `prompt` (int64 [P], P >= 1), each
// sampled from the model's scores at the last step given the tokens so far. The model runs in
// eval mode without recording gradients, and is left in the mode it had.
Tensor generate_tokens(nn::Module& model, const Tensor& prompt, const SamplingOptions& options, Generator& gen);

}  // namespace cajal::models
