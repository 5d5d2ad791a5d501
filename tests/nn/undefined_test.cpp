// Every layer's forward given an undefined (default-constructed) Tensor throws a cajal::Error
// naming the op that met it ("linear: got an undefined tensor ..."), never crashes.
#include <functional>

#include "support/test_support.h"

using namespace cajal;

namespace {

void expect_undefined_error(const std::string& layer, const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    std::string message = e.what();
    EXPECT_NE(message.find(": got an undefined tensor"), std::string::npos) << layer << ": " << message;
    EXPECT_GT(message.find(':'), 0u) << layer << ": the message names no op: " << message;
    return;
  } catch (const std::exception& e) {
    ADD_FAILURE() << layer << ": threw a non-cajal exception: " << e.what();
    return;
  }
  ADD_FAILURE() << layer << ": did not throw";
}

}  // namespace

TEST(Undefined, EveryOneInputLayer) {
  const std::vector<std::pair<std::string, nn::ModulePtr>> layers = {
      {"ReLU", nn::ReLU().ptr()},
      {"SELU", nn::SELU().ptr()},
      {"SiLU", nn::SiLU().ptr()},
      {"Mish", nn::Mish().ptr()},
      {"Sigmoid", nn::Sigmoid().ptr()},
      {"Tanh", nn::Tanh().ptr()},
      {"LeakyReLU", nn::LeakyReLU().ptr()},
      {"PReLU", nn::PReLU().ptr()},
      {"ELU", nn::ELU().ptr()},
      {"GELU", nn::GELU().ptr()},
      {"Softmax", nn::Softmax(1).ptr()},
      {"LogSoftmax", nn::LogSoftmax(1).ptr()},
      {"Hardtanh", nn::Hardtanh().ptr()},
      {"Softplus", nn::Softplus().ptr()},
      {"Linear", nn::Linear(3, 2).ptr()},
      {"Flatten", nn::Flatten().ptr()},
      {"Unflatten", nn::Unflatten(1, Dims{2, 2}).ptr()},
      {"Conv1d", nn::Conv1d(2, 3, 3).ptr()},
      {"Conv2d", nn::Conv2d(2, 3, 3).ptr()},
      {"ConvTranspose2d", nn::ConvTranspose2d(2, 3, 3).ptr()},
      {"Dropout", nn::Dropout().ptr()},
      {"Dropout2d", nn::Dropout2d().ptr()},
      {"AlphaDropout", nn::AlphaDropout().ptr()},
      {"Embedding", nn::Embedding(5, 3).ptr()},
      {"BatchNorm1d", nn::BatchNorm1d(3).ptr()},
      {"BatchNorm2d", nn::BatchNorm2d(3).ptr()},
      {"InstanceNorm2d", nn::InstanceNorm2d(3).ptr()},
      {"LayerNorm", nn::LayerNorm(3).ptr()},
      {"GroupNorm", nn::GroupNorm(1, 3).ptr()},
      {"MaxPool1d", nn::MaxPool1d(2).ptr()},
      {"MaxPool2d", nn::MaxPool2d(2).ptr()},
      {"AvgPool1d", nn::AvgPool1d(2).ptr()},
      {"AvgPool2d", nn::AvgPool2d(2).ptr()},
      {"AdaptiveAvgPool2d", nn::AdaptiveAvgPool2d(1).ptr()},
      {"Upsample", nn::Upsample(nn::UpsampleOptions{.scale_factor = {2.0}}).ptr()},
      {"RNNCell", nn::RNNCell(3, 4).ptr()},
      {"GRUCell", nn::GRUCell(3, 4).ptr()},
      {"TransformerEncoderLayer", nn::TransformerEncoderLayer(4, 2).ptr()},
      {"TransformerEncoder", nn::TransformerEncoder(nn::TransformerEncoderLayer(4, 2), 2).ptr()},
      {"PositionalEncoding", nn::PositionalEncoding(4).ptr()},
      {"LearnedPositionalEncoding", nn::LearnedPositionalEncoding(10, 4).ptr()},
      {"Sequential", nn::Sequential(nn::Linear(3, 2), nn::ReLU()).ptr()},
  };
  for (const auto& entry : layers) {  // no structured binding: lambdas capture these (clang 14)
    const std::string& name = entry.first;
    const nn::ModulePtr& layer = entry.second;
    expect_undefined_error(name, [&] { layer->forward(Tensor()); });
    layer->eval();
    expect_undefined_error(name + " (eval)", [&] { layer->forward(Tensor()); });
  }
}

TEST(Undefined, EveryLayerWithSeveralInputs) {
  Tensor x = test::iota({2, 3});
  nn::Bilinear bilinear(3, 3, 2);
  expect_undefined_error("Bilinear input1", [&] { bilinear(Tensor(), x); });
  expect_undefined_error("Bilinear input2", [&] { bilinear(x, Tensor()); });
  nn::RNN rnn(3, 4);
  expect_undefined_error("RNN", [&] { rnn(Tensor(), Tensor()); });
  nn::LSTM lstm(3, 4);
  expect_undefined_error("LSTM", [&] { lstm(Tensor(), Tensor()); });
  nn::GRU gru(3, 4);
  expect_undefined_error("GRU", [&] { gru(Tensor(), Tensor()); });
  nn::LSTMCell lstm_cell(3, 4);
  expect_undefined_error("LSTMCell", [&] { lstm_cell(Tensor()); });
  nn::MultiheadAttention attention(4, 2);
  Tensor q = test::iota({3, 2, 4});
  expect_undefined_error("MultiheadAttention query", [&] { attention(Tensor(), q, q); });
  expect_undefined_error("MultiheadAttention key", [&] { attention(q, Tensor(), q); });
  expect_undefined_error("MultiheadAttention value", [&] { attention(q, q, Tensor()); });
  nn::TransformerDecoderLayer decoder(4, 2);
  expect_undefined_error("TransformerDecoderLayer target", [&] { decoder(Tensor(), q); });
  expect_undefined_error("TransformerDecoderLayer memory", [&] { decoder(q, Tensor()); });

  Tensor labels = tensor({0, 1}, {2}, {.dtype = DType::i64});
  expect_undefined_error("CrossEntropyLoss input", [&] { nn::CrossEntropyLoss()(Tensor(), labels); });
  expect_undefined_error("CrossEntropyLoss target", [&] { nn::CrossEntropyLoss()(x, Tensor()); });
  expect_undefined_error("NLLLoss", [&] { nn::NLLLoss()(x, Tensor()); });
  expect_undefined_error("MSELoss input", [&] { nn::MSELoss()(Tensor(), x); });
  expect_undefined_error("MSELoss target", [&] { nn::MSELoss()(x, Tensor()); });
  expect_undefined_error("L1Loss", [&] { nn::L1Loss()(x, Tensor()); });
  expect_undefined_error("SmoothL1Loss", [&] { nn::SmoothL1Loss()(x, Tensor()); });
  expect_undefined_error("HuberLoss", [&] { nn::HuberLoss()(Tensor(), x); });
  expect_undefined_error("BCELoss", [&] { nn::BCELoss()(x, Tensor()); });
  expect_undefined_error("BCEWithLogitsLoss", [&] { nn::BCEWithLogitsLoss()(Tensor(), x); });
  expect_undefined_error("KLDivLoss", [&] { nn::KLDivLoss()(x, Tensor()); });
  expect_undefined_error("CosineEmbeddingLoss", [&] { nn::CosineEmbeddingLoss()(x, Tensor(), labels); });
  expect_undefined_error("MarginRankingLoss", [&] { nn::MarginRankingLoss()(x, x, Tensor()); });
  expect_undefined_error("TripletMarginLoss", [&] { nn::TripletMarginLoss()(x, Tensor(), x); });
}
