// Module surgery for transfer learning: get_submodule and replace by dotted path, freezing
// and parameter groups by name pattern, and functional_call (torch.func.functional_call).
#include "cajal/autograd/engine.h"
#include "cajal/models/resnet.h"
#include "cajal/nn/nn.h"
#include "support/test_support.h"

namespace cajal {
namespace {

nn::Sequential small_net() {
  return nn::Sequential(nn::Sequential(nn::Linear(4, 8), nn::ReLU()), nn::Linear(8, 3));
}

TEST(Surgery, GetSubmoduleFollowsDottedPaths) {
  nn::Sequential net = small_net();
  EXPECT_EQ(net->get_submodule("0.0")->name(), "Linear");
  EXPECT_EQ(net->get_submodule("1")->name(), "Linear");
  EXPECT_EQ(net->get_submodule("").get(), net.ptr().get());
  test::expect_error<ValueError>([&] { net->get_submodule("0.5"); },
                                 {"no module \"0.5\"", "0 (Sequential) has no child \"5\"", "\"0\", \"1\""});
  test::expect_error<ValueError>([&] { net->get_submodule("head"); }, {"has no child \"head\""});
}

TEST(Surgery, ReplaceSwapsAHeadInPlace) {
  nn::Sequential net = small_net();
  net->replace("1", nn::Linear(8, 5));
  EXPECT_EQ(net->forward(randn({2, 4})).sizes(), (Dims{2, 5}));  // forward runs the new head
  EXPECT_EQ(net->named_parameters().back().first, "1.bias");
  EXPECT_EQ(net->named_parameters().back().second.size(0), 5);
  // A nested child: the inner Sequential's Linear becomes a wider one, and the head must follow.
  net->replace("0.0", nn::Linear(4, 6));
  net->replace("1", nn::Linear(6, 2));
  EXPECT_EQ(net->forward(randn({3, 4})).sizes(), (Dims{3, 2}));
  EXPECT_EQ(net->at<nn::SequentialImpl>(0)->at<nn::LinearImpl>(0)->out_features(), 6);
}

TEST(Surgery, ReplaceInADictAndInAResNetHead) {
  nn::ModuleDict dict({{"fc", nn::Linear(2, 3)}});
  dict->replace("fc", nn::Linear(2, 7));
  EXPECT_EQ(dict->at<nn::LinearImpl>("fc")->out_features(), 7);

  models::ResNet resnet(models::ImageInput{1, {8, 8}, 10}, models::ResNetOptions{.depth = 6, .widths = {4, 8}});
  resnet->replace("fc", nn::Sequential(nn::Dropout(0.0), nn::Linear(8, 5)));
  EXPECT_EQ(resnet->forward(randn({2, 1, 8, 8})).sizes(), (Dims{2, 5}));
  EXPECT_EQ(resnet->get_submodule("fc")->name(), "Sequential");
}

TEST(Surgery, ReplaceRefusalsChangeNothing) {
  nn::Sequential net = small_net();
  test::expect_error<ValueError>([&] { net->replace("2", nn::Linear(8, 5)); }, {"no module \"2\"", "has no child \"2\""});
  test::expect_error<ValueError>([&] { net->replace("", nn::Linear(8, 5)); }, {"must name a descendant"});
  test::expect_error<ValueError>([&] { net->replace("1", nullptr); }, {"null"});
  // A module that keeps a child in a typed member refuses instead of running a stale one.
  models::ResNet resnet(models::ImageInput{1, {8, 8}, 10}, models::ResNetOptions{.depth = 6, .widths = {4, 8}});
  const Tensor before = resnet->get_submodule("conv1")->named_parameters().front().second;
  test::expect_error<ValueError>([&] { resnet->replace("conv1", nn::Conv2d(1, 4, 3, {.padding = 1})); },
                                 {"ResNet cannot replace its child \"conv1\" in place"});
  EXPECT_EQ(resnet->get_submodule("conv1")->named_parameters().front().second.impl(), before.impl());
}

TEST(Surgery, FreezeAndUnfreezeByPattern) {
  nn::Sequential net = small_net();
  EXPECT_EQ(nn::freeze(*net, {"0.*"}), 2u);
  for (const auto& [name, p] : net->named_parameters()) EXPECT_EQ(p.requires_grad(), name.rfind("0.", 0) != 0) << name;
  EXPECT_EQ(nn::unfreeze(*net, {"*.bias"}), 2u);  // "*" crosses dots
  EXPECT_TRUE(net->get_submodule("0.0")->named_parameters()[1].second.requires_grad());
  EXPECT_FALSE(net->get_submodule("0.0")->named_parameters()[0].second.requires_grad());
  test::expect_error<ValueError>([&] { nn::freeze(*net, {"features.*"}); },
                                 {"\"features.*\" matches no parameter", "0.0.weight"});
  EXPECT_TRUE(nn::name_matches("layer?.conv", "layer4.conv"));
  EXPECT_FALSE(nn::name_matches("layer?.conv", "layer10.conv"));
}

TEST(Surgery, GroupParametersByFirstMatchingPattern) {
  nn::Sequential net = small_net();
  std::vector<TensorList> groups = nn::group_parameters(*net, {"1.*", "*.bias"});
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].size(), 2u);  // the head's weight and bias
  ASSERT_EQ(groups[1].size(), 1u);  // the remaining bias
  EXPECT_EQ(groups[1][0].impl(), net->get_submodule("0.0")->named_parameters()[1].second.impl());
  ASSERT_EQ(groups[2].size(), 1u);  // everything else
  nn::freeze(*net, {"0.*"});
  groups = nn::group_parameters(*net, {"1.*"});
  EXPECT_TRUE(groups[1].empty());  // frozen parameters join no group
  test::expect_error<ValueError>([&] { nn::group_parameters(*net, {"1.*", "1.weight"}); },
                                 {"\"1.weight\" matches only parameters that are frozen or taken"});
}

TEST(FunctionalCall, RunsWithGivenTensorsAndRestoresTheModule) {
  nn::Linear fc(3, 2);
  const Tensor x = randn({4, 3});
  const Tensor w = randn({2, 3}), b = randn({2});
  const Tensor own_weight = fc->weight();
  Tensor out = nn::functional_call(fc, {{"weight", w}, {"bias", b}}, x);
  EXPECT_TRUE(test::all_close(out, matmul(x, w.transpose(0, 1)) + b, 1e-5, 1e-6));
  EXPECT_EQ(fc->weight().impl(), own_weight.impl());  // restored
  EXPECT_TRUE(test::all_close(fc(x), matmul(x, own_weight.transpose(0, 1)) + fc->bias(), 1e-5, 1e-6));
  // Only some names: the others stay the module's.
  out = nn::functional_call(fc, {{"bias", b}}, x);
  EXPECT_TRUE(test::all_close(out, matmul(x, own_weight.transpose(0, 1)) + b, 1e-5, 1e-6));
}

TEST(FunctionalCall, GradientsReachTheSubstitutesNotTheModule) {
  nn::Sequential net = small_net();
  nn::Named<Tensor> given;
  for (const auto& [name, p] : net->named_parameters()) given.emplace_back(name, (p.detach() * 2).requires_grad_(true));
  const Tensor x = randn({5, 4});
  Tensor loss = sum(nn::functional_call(net, given, x));
  loss.backward();
  for (const auto& [name, p] : net->named_parameters()) EXPECT_FALSE(p.grad().defined()) << name;
  for (const auto& [name, t] : given) EXPECT_TRUE(t.grad().defined()) << name;
  // The same as loading those values into a copy of the module and differentiating it.
  nn::Sequential twin = small_net();
  for (const auto& [name, t] : given) {
    NoGradGuard no_grad;
    for (auto& [twin_name, p] : twin->named_parameters())
      if (twin_name == name) p.copy_(t);
  }
  sum(twin(x)).backward();
  auto twin_params = twin->named_parameters();
  for (size_t i = 0; i < given.size(); ++i) EXPECT_TRUE(test::all_close(given[i].second.grad(), twin_params[i].second.grad(), 1e-5, 1e-5));
}

TEST(FunctionalCall, BadNamesShapesAndExceptionsLeaveTheModuleIntact) {
  nn::Linear fc(3, 2);
  const Tensor own_weight = fc->weight();
  test::expect_error<ValueError>([&] { nn::functional_call(fc, {{"wieght", randn({2, 3})}}, randn({1, 3})); },
                                 {"no parameter or buffer named \"wieght\""});
  test::expect_error<ValueError>([&] { nn::functional_call(fc, {{"weight", randn({3, 2})}}, randn({1, 3})); },
                                 {"\"weight\" has shape [3, 2], the module's has [2, 3]"});
  // forward throws (wrong input width) while the substitute is in place: it is still restored.
  EXPECT_THROW(nn::functional_call(fc, {{"weight", randn({2, 3})}}, randn({1, 4})), Error);
  EXPECT_EQ(fc->weight().impl(), own_weight.impl());
}

}  // namespace
}  // namespace cajal
