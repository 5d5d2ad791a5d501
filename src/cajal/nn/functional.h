#pragma once
// nn::functional: the layers' math without state, as torch.nn.functional. Every name is
// the op itself, re-exported from ops/, so F::relu and cajal::relu are one function:
//   namespace F = cajal::nn::functional;
//   Tensor h = F::dropout(F::relu(F::linear(x, w, b)), 0.5, is_training());
// Each family below has its own section; a helper adding ops adds its lines to its section.
#include "cajal/nn/attention.h"
#include "cajal/nn/embedding.h"
#include "cajal/ops/activation.h"
#include "cajal/ops/attention.h"
#include "cajal/ops/bilinear.h"
#include "cajal/ops/conv.h"
#include "cajal/ops/dropout.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/linalg.h"
#include "cajal/ops/loss.h"
#include "cajal/ops/norm.h"
#include "cajal/ops/pool.h"
#include "cajal/ops/reduce.h"
#include "cajal/ops/rnn.h"
#include "cajal/ops/shape.h"

namespace cajal::nn::functional {

// --- linear ---
using cajal::bilinear;
using cajal::linear;

// --- activations ---
using cajal::elu;
using cajal::gelu;
using cajal::GeluApprox;
using cajal::hardtanh;
using cajal::leaky_relu;
using cajal::log_softmax;
using cajal::mish;
using cajal::prelu;
using cajal::relu;
using cajal::selu;
using cajal::sigmoid;
using cajal::silu;
using cajal::softmax;
using cajal::softplus;
using cajal::tanh;

// --- dropout ---
using cajal::alpha_dropout;
using cajal::dropout;
using cajal::dropout2d;

// --- embeddings and indices ---
using cajal::embedding;
using cajal::nn::embedding_renorm_;
using cajal::one_hot;

// --- padding ---
using cajal::pad;
using cajal::PadMode;

// --- convolution and pooling ---
using cajal::adaptive_avg_pool2d;
using cajal::avg_pool1d;
using cajal::avg_pool2d;
using cajal::conv1d;
using cajal::conv2d;
using cajal::conv_transpose2d;
using cajal::global_avg_pool2d;
using cajal::interpolate;
using cajal::InterpolateMode;
using cajal::max_pool1d;
using cajal::max_pool1d_with_indices;
using cajal::max_pool2d;
using cajal::max_pool2d_with_indices;

// --- normalization ---
using cajal::batch_norm;
using cajal::group_norm;
using cajal::instance_norm;
using cajal::layer_norm;

// --- recurrent cells ---
using cajal::gru_cell;
using cajal::lstm_cell;
using cajal::rnn_relu_cell;
using cajal::rnn_tanh_cell;

// --- attention ---
using cajal::causal_mask;
using cajal::scaled_dot_product_attention;
using cajal::nn::multi_head_attention_forward;

// --- losses ---
using cajal::binary_cross_entropy;
using cajal::binary_cross_entropy_with_logits;
using cajal::cosine_embedding_loss;
using cajal::cross_entropy;
using cajal::huber_loss;
using cajal::kl_div;
using cajal::l1_loss;
using cajal::margin_ranking_loss;
using cajal::mse_loss;
using cajal::nll_loss;
using cajal::Reduction;
using cajal::smooth_l1_loss;
using cajal::triplet_margin_loss;

}  // namespace cajal::nn::functional
