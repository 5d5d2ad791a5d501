// Module hooks: forward hooks see (and may replace) a layer's output, backward hooks see the
// gradient of the loss with respect to that output (checked against autograd::grad on the
// captured output), handles remove them, and they run through holders, Sequential and ResNet.
#include "cajal/autograd/engine.h"
#include "cajal/models/resnet.h"
#include "cajal/nn/nn.h"
#include "support/test_support.h"

namespace cajal {
namespace {

double max_diff(const Tensor& a, const Tensor& b) { return (a - b).abs().max().item(); }

TEST(Hooks, ForwardHookSeesTheOutputInsideSequential) {
  manual_seed(1);
  nn::Sequential net(nn::Conv2d(1, 3, 3, {.padding = 1}), nn::ReLU(), nn::Flatten(), nn::Linear(48, 2));
  Tensor x = randn({2, 1, 4, 4});
  Tensor seen_input, seen_output;
  std::string seen_name;
  auto handle = net[0]->register_forward_hook([&](nn::Module& m, const Tensor& in, const Tensor& out) {
    seen_name = m.name();
    seen_input = in;
    seen_output = out;
    return Tensor();
  });
  Tensor y = net(x);
  EXPECT_EQ(seen_name, "Conv2d");
  EXPECT_TRUE(seen_input.is_same(x));
  EXPECT_EQ(seen_output.sizes(), (Dims{2, 3, 4, 4}));
  EXPECT_LT(max_diff(seen_output, net[0]->forward(x)), 1e-6);
  EXPECT_LT(max_diff(y, net[3]->forward(net[2]->forward(relu(seen_output)))), 1e-6);
}

TEST(Hooks, ForwardHookCanReplaceTheOutput) {
  nn::Sequential net(nn::Linear(3, 3), nn::ReLU());
  Tensor x = randn({4, 3});
  auto handle = net[0]->register_forward_hook([](nn::Module&, const Tensor&, const Tensor& out) { return out * 0.0 - 1.0; });
  EXPECT_EQ(net(x).abs().max().item(), 0.0);  // ReLU of -1 everywhere
  handle.remove();
  EXPECT_GT(net(x).abs().max().item(), 0.0);
}

TEST(Hooks, BackwardHookGetsTheGradientOfTheOutput) {
  manual_seed(2);
  nn::Sequential net(nn::Linear(5, 4), nn::Tanh(), nn::Linear(4, 2));
  Tensor x = randn({3, 5});
  Tensor activation, grad_output;
  int calls = 0;
  auto forward = net[1]->register_forward_hook([&](nn::Module&, const Tensor&, const Tensor& out) {
    activation = out;
    return Tensor();
  });
  auto backward = net[1]->register_backward_hook([&](nn::Module& m, const Tensor& g) {
    EXPECT_EQ(m.name(), "Tanh");
    grad_output = g;
    ++calls;
    return Tensor();
  });
  Tensor loss = (net(x) * net(x)).sum();  // two calls: the hook sees each output's gradient
  Tensor expected = autograd::grad({loss}, {activation}, {}, true)[0];  // runs the hook too, as torch's
  EXPECT_EQ(calls, 1);
  EXPECT_LT(max_diff(grad_output, expected), 1e-6);
  calls = 0;
  loss.backward();
  EXPECT_EQ(calls, 2);
  EXPECT_LT(max_diff(grad_output, expected), 1e-6);  // both calls' outputs get the same gradient here
}

TEST(Hooks, BackwardHookCanScaleTheGradient) {
  manual_seed(3);
  nn::Linear fc(3, 2);
  Tensor x = randn({4, 3});
  fc(x).sum().backward();
  Tensor plain = fc->named_parameters()[0].second.grad().clone();
  fc->zero_grad();
  auto handle = fc->register_backward_hook([](nn::Module&, const Tensor& g) { return g * 3.0; });
  fc(x).sum().backward();  // through the holder: hooks run
  EXPECT_LT(max_diff(fc->named_parameters()[0].second.grad(), plain * 3.0), 1e-5);
  fc->zero_grad();
  fc->forward(x).sum().backward();  // forward itself runs no hooks
  EXPECT_LT(max_diff(fc->named_parameters()[0].second.grad(), plain), 1e-6);
}

TEST(Hooks, HandlesRemoveOnDestructionAndMove) {
  nn::ReLU relu_layer;
  int calls = 0;
  {
    auto handle = relu_layer->register_forward_hook([&](nn::Module&, const Tensor&, const Tensor&) {
      ++calls;
      return Tensor();
    });
    relu_layer(randn({2}));
    nn::Module::HookHandle moved = std::move(handle);
    relu_layer(randn({2}));
  }
  relu_layer(randn({2}));
  EXPECT_EQ(calls, 2);
  // A handle that outlives its module does nothing when it goes.
  nn::Module::HookHandle orphan;
  {
    nn::ReLU gone;
    orphan = gone->register_forward_hook([](nn::Module&, const Tensor&, const Tensor&) { return Tensor(); });
  }
  orphan.remove();
  test::expect_error<ValueError>([&] { (void)relu_layer->register_forward_hook(nullptr); }, {"ReLU", "hook is empty"});
}

TEST(Hooks, ResNetBlocksCallTheirLayersThroughHooks) {
  manual_seed(4);
  models::ResNet net(models::ImageInput{3, {8, 8}, 10}, models::ResNetOptions{.depth = 8, .widths = {4, 8, 8}});
  net->eval();
  Tensor feature;
  auto handle = net->get_submodule("layer3.0.conv2")->register_forward_hook([&](nn::Module&, const Tensor&, const Tensor& out) {
    feature = out;
    return Tensor();
  });
  net(randn({1, 3, 8, 8}));
  ASSERT_TRUE(feature.defined());
  EXPECT_EQ(feature.sizes(), (Dims{1, 8, 2, 2}));
}

}  // namespace
}  // namespace cajal
