// Sequential, ModuleList, ModuleDict: child names and printing as PyTorch gives them for
// the same structure (strings obtained by running torch 1.13), forward chaining, indexing,
// typed access, errors.
#include "cajal/nn/container.h"
#include "support/test_support.h"

namespace cajal {
namespace {

using namespace cajal::nn;

// class Scale(nn.Module): weight = full((n,), f); forward x * weight; extra_repr "n=<n>".
struct ScaleImpl : Module {
  ScaleImpl(int64_t n, double f) : n(n) { weight = register_parameter("weight", full({n}, f)); }
  std::string name() const override { return "Scale"; }
  std::string extra_repr() const override { return "n=" + std::to_string(n); }
  Tensor forward(const Tensor& x) override { return x * weight; }
  int64_t n;
  Tensor weight;
};
CAJAL_MODULE(Scale);

std::vector<std::string> parameter_names(const Module& m) {
  std::vector<std::string> out;
  for (const auto& entry : m.named_parameters()) out.push_back(entry.first);
  return out;
}

Sequential nested_model() {
  return Sequential(Scale(2, 2), Sequential(Scale(2, 3), ModuleList(Scale(1, 1))),
                    ModuleDict({{"head", Scale(2, 5)}, {"aux", Sequential()}}));
}

TEST(Containers, NamesAndPrintingMatchPyTorch) {
  Sequential model = nested_model();
  EXPECT_EQ(parameter_names(*model), (std::vector<std::string>{"0.weight", "1.0.weight", "1.1.0.weight", "2.head.weight"}));
  EXPECT_EQ(model->to_string(),
            "Sequential(\n  (0): Scale(n=2)\n  (1): Sequential(\n    (0): Scale(n=2)\n    (1): ModuleList(\n"
            "      (0): Scale(n=1)\n    )\n  )\n  (2): ModuleDict(\n    (head): Scale(n=2)\n    (aux): Sequential()\n"
            "  )\n)");
}

TEST(Containers, SequentialChainsForward) {
  Sequential seq(Scale(2, 2), Scale(2, 3));
  seq->push_back(std::make_shared<ScaleImpl>(2, 0.5));
  EXPECT_EQ(seq->size(), 3u);
  Tensor x = test::f64({1, -4}).to(DType::f32).requires_grad_();
  Tensor y = seq(x);
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{3, -12}));
  y.sum().backward();
  // d(sum(x * 2 * 3 * 0.5))/d(first weight) = x * 3 * 0.5
  EXPECT_EQ(seq->at<ScaleImpl>(0)->weight.grad().to_vector<float>(), (std::vector<float>{1.5f, -6}));
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{3, 3}));
  // An empty Sequential passes its input through.
  Sequential empty;
  EXPECT_TRUE(empty->forward(x).is_same(x));
}

TEST(Containers, SequentialNamedEntries) {
  Sequential seq;
  seq->push_back("encoder", Scale(1, 2));
  seq->push_back(Scale(1, 3));
  EXPECT_EQ(parameter_names(*seq), (std::vector<std::string>{"encoder.weight", "1.weight"}));
  EXPECT_EQ(seq(ones({1})).item(), 6.0);
}

TEST(Containers, IndexingAndTypedAccess) {
  Sequential seq(Scale(1, 2), Scale(2, 3), Sequential());
  EXPECT_EQ(seq[1]->extra_repr(), "n=2");
  EXPECT_EQ(seq[-1]->name(), "Sequential");
  EXPECT_EQ(seq->at<ScaleImpl>(-3)->n, 1);
  test::expect_error<IndexError>([&] { seq->at(3); }, {"Sequential", "3", "3 modules"});
  test::expect_error<IndexError>([&] { seq[-4]; }, {"Sequential", "-4"});
  test::expect_error<ValueError>([&] { seq->at<ScaleImpl>(2); }, {"Sequential", "Sequential", "not the requested type"});
  int count = 0;
  for (const ModulePtr& m : *seq) count += m->name() == "Scale";
  EXPECT_EQ(count, 2);
}

TEST(Containers, ModuleListHasNoForward) {
  ModuleList list(Scale(1, 2));
  list->push_back(Scale(1, 3));
  EXPECT_EQ(list->size(), 2u);
  EXPECT_EQ(parameter_names(*list), (std::vector<std::string>{"0.weight", "1.weight"}));
  test::expect_error<ValueError>([&] { list->forward(ones({1})); }, {"ModuleList", "forward"});
}

TEST(Containers, ModuleDictKeepsInsertionOrder) {
  ModuleDict dict({{"zeta", Scale(1, 1)}, {"alpha", Scale(2, 1)}});
  dict->insert("mid", Scale(3, 1));
  EXPECT_EQ(dict->keys(), (std::vector<std::string>{"zeta", "alpha", "mid"}));
  EXPECT_EQ(dict->size(), 3u);
  EXPECT_TRUE(dict->contains("alpha"));
  EXPECT_FALSE(dict->contains("beta"));
  EXPECT_EQ(dict["mid"]->extra_repr(), "n=3");
  EXPECT_EQ(dict->at<ScaleImpl>("alpha")->n, 2);
  test::expect_error<IndexError>([&] { dict->at("beta"); }, {"ModuleDict", "\"beta\""});
  test::expect_error<ValueError>([&] { dict->insert("zeta", Scale(1, 1)); }, {"ModuleDict", "zeta", "already taken"});
  test::expect_error<ValueError>([&] { dict->insert("a.b", Scale(1, 1)); }, {"ModuleDict", "a.b"});
  ModuleDict empty;
  EXPECT_EQ(empty->size(), 0u);
}

TEST(Containers, ModesReachNestedChildren) {
  Sequential model = nested_model();
  model->eval();
  EXPECT_FALSE(model->at<ModuleDictImpl>(2)->at("head")->is_training());
  model->train();
  EXPECT_TRUE(model->at<SequentialImpl>(1)->at<ModuleListImpl>(1)->at(0)->is_training());
}

TEST(Containers, HolderCopiesShareTheModule) {
  Sequential a(Scale(1, 2));
  Sequential b = a;  // a handle copy, not a nested Sequential
  b->push_back(Scale(1, 3));
  EXPECT_EQ(a->size(), 2u);
  Sequential nested(a);
  EXPECT_EQ(nested.ptr(), a.ptr());
}

}  // namespace
}  // namespace cajal
