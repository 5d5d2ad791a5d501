// Module: dotted names, state_dict order and printing against what PyTorch gives for the
// same structure (strings obtained by running torch 1.13 on the equivalent Python classes),
// modes, bulk operations and registration errors.
#include <sstream>

#include "cajal/nn/module.h"
#include "support/test_support.h"

namespace cajal {
namespace {

using nn::Module;

// class Leaf(nn.Module): weight [n, 2] parameter, "running" [n] buffer, given extra_repr.
struct LeafImpl : Module {
  LeafImpl(int64_t n, std::string extra) : extra(std::move(extra)) {
    weight = register_parameter("weight", zeros({n, 2}));
    running = register_buffer("running", zeros({n}));
  }
  std::string name() const override { return "Leaf"; }
  std::string extra_repr() const override { return extra; }
  Tensor forward(const Tensor& x) override { return x * 2; }
  void set(const std::string& name, const Tensor& v) { replace_tensor(name, v); }
  Tensor weight, running;
  std::string extra;
};
CAJAL_MODULE(Leaf);

struct BlockImpl : Module {
  BlockImpl() {
    scale = register_parameter("scale", zeros({3}));
    inner = register_module("inner", std::make_shared<LeafImpl>(3, "n=3"));
    empty = register_module("empty", std::make_shared<LeafImpl>(1, ""));
    multi = register_module("multi", std::make_shared<LeafImpl>(2, "first line\nsecond line"));
  }
  std::string name() const override { return "Block"; }
  Tensor scale;
  std::shared_ptr<LeafImpl> inner, empty, multi;
};

struct NetImpl : Module {
  NetImpl() {
    features = register_module("features", std::make_shared<BlockImpl>());
    head = register_module("head", Leaf(4, "n=4").ptr());
    bias = register_parameter("bias", zeros({1}));
  }
  std::string name() const override { return "Net"; }
  std::shared_ptr<BlockImpl> features;
  std::shared_ptr<LeafImpl> head;
  Tensor bias;
};
CAJAL_MODULE(Net);

template <typename T>
std::vector<std::string> names_of(const nn::Named<T>& named) {
  std::vector<std::string> out;
  for (const auto& entry : named) out.push_back(entry.first);
  return out;
}

using Names = std::vector<std::string>;

TEST(Module, NamesMatchPyTorch) {
  Net net;
  EXPECT_EQ(names_of(net->named_parameters()),
            (Names{"bias", "features.scale", "features.inner.weight", "features.empty.weight", "features.multi.weight",
                   "head.weight"}));
  EXPECT_EQ(names_of(net->named_buffers()),
            (Names{"features.inner.running", "features.empty.running", "features.multi.running", "head.running"}));
  EXPECT_EQ(names_of(net->state_dict()),
            (Names{"bias", "features.scale", "features.inner.weight", "features.inner.running", "features.empty.weight",
                   "features.empty.running", "features.multi.weight", "features.multi.running", "head.weight",
                   "head.running"}));
  EXPECT_EQ(names_of(net->named_modules()),
            (Names{"", "features", "features.inner", "features.empty", "features.multi", "head"}));
  EXPECT_EQ(names_of(net->named_modules("model")), (Names{"model", "model.features", "model.features.inner",
                                                          "model.features.empty", "model.features.multi", "model.head"}));
  EXPECT_EQ(names_of(net->named_children()), (Names{"features", "head"}));
  EXPECT_EQ(names_of(net->named_parameters(false)), (Names{"bias"}));
  EXPECT_EQ(names_of(net->features->named_buffers(false)), Names{});
  // The handles are the layers' own tensors.
  EXPECT_TRUE(net->named_parameters()[2].second.is_same(net->features->inner->weight));
  EXPECT_EQ(net->parameters().size(), 6u);
  EXPECT_EQ(net->buffers().size(), 4u);
  EXPECT_TRUE(net->parameters()[0].requires_grad());
  EXPECT_FALSE(net->buffers()[0].requires_grad());
}

TEST(Module, PrintsLikePyTorch) {
  Net net;
  EXPECT_EQ(net->to_string(),
            "Net(\n  (features): Block(\n    (inner): Leaf(n=3)\n    (empty): Leaf()\n    (multi): Leaf(\n"
            "      first line\n      second line\n    )\n  )\n  (head): Leaf(n=4)\n)");
  // bias 1 + scale 3 + 3*2 + 1*2 + 2*2 + 4*2 = 24 parameters; buffers are not counted.
  net->features->requires_grad_(false);
  EXPECT_EQ(net->to_string(true), net->to_string() + "\nTotal params: 24 (trainable: 9)");
  std::ostringstream os;
  os << *net;
  EXPECT_EQ(os.str(), net->to_string());
}

TEST(Module, CountsWithThousandsSeparators) {
  Leaf big(600000, "");
  EXPECT_EQ(big->num_parameters(), 1200000);
  EXPECT_EQ(big->to_string(true), "Leaf()\nTotal params: 1,200,000 (trainable: 1,200,000)");
}

TEST(Module, SharedModulesAndParametersCountOnce) {
  struct TiedImpl : Module {
    TiedImpl() {
      auto leaf = std::make_shared<LeafImpl>(2, "");
      register_module("a", leaf);
      register_module("b", leaf);
    }
    std::string name() const override { return "Tied"; }
  };
  auto tied = std::make_shared<TiedImpl>();
  // torch: named_parameters/modules skip repeats; state_dict keeps every name.
  EXPECT_EQ(names_of(tied->named_parameters()), Names{"a.weight"});
  EXPECT_EQ(names_of(tied->named_modules()), (Names{"", "a"}));
  EXPECT_EQ(names_of(tied->state_dict()), (Names{"a.weight", "a.running", "b.weight", "b.running"}));
  EXPECT_EQ(tied->num_parameters(), 4);
}

TEST(Module, StateDictSharesDataWithoutHistory) {
  Leaf leaf(2, "");
  Tensor w = leaf->state_dict()[0].second;
  EXPECT_FALSE(w.requires_grad());
  w.fill_(3.0);
  EXPECT_EQ(leaf->weight.sum().item(), 12.0);
}

TEST(Module, TrainEvalReachEveryDescendant) {
  Net net;
  EXPECT_TRUE(net->is_training());
  net->eval();
  for (const auto& [name, m] : net->named_modules()) EXPECT_FALSE(m->is_training()) << name;
  net->features->train();
  EXPECT_FALSE(net->is_training());
  EXPECT_TRUE(net->features->multi->is_training());
  EXPECT_FALSE(net->head->is_training());
}

TEST(Module, ZeroGradClearsEveryGradient) {
  Net net;
  Tensor loss = net->bias.sum() + net->features->inner->weight.sum() * 2;
  loss.backward();
  EXPECT_EQ(net->features->inner->weight.grad().sum().item(), 12.0);
  net->zero_grad();
  for (const Tensor& p : net->parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST(Module, RequiresGradFreezes) {
  Net net;
  net->features->requires_grad_(false);
  EXPECT_EQ(net->num_parameters(), 24);
  EXPECT_EQ(net->num_parameters(true), 9);  // bias 1 + head 8
  (net->features->inner->weight.sum() + net->head->weight.sum()).backward();
  EXPECT_FALSE(net->features->inner->weight.grad().defined());
  EXPECT_TRUE(net->head->weight.grad().defined());
  net->requires_grad_(true);
  EXPECT_EQ(net->num_parameters(true), 24);
}

TEST(Module, ApplyVisitsChildrenBeforeParents) {
  Net net;
  std::vector<std::string> order;
  net->apply([&](Module& m) { order.push_back(m.name() + ":" + m.extra_repr()); });
  // torch.nn.Module.apply: children first, then the module.
  EXPECT_EQ(order, (Names{"Leaf:n=3", "Leaf:", "Leaf:first line\nsecond line", "Block:", "Leaf:n=4", "Net:"}));
  // A custom init through apply.
  net->apply([](Module& m) {
    for (Tensor& p : m.parameters(false)) {
      NoGradGuard g;
      p.fill_(0.5);
    }
  });
  EXPECT_EQ(net->features->multi->weight.sum().item(), 2.0);
}

TEST(Module, ReplaceTensorUpdatesTheLayersHandle) {
  Leaf leaf(2, "");
  Tensor old_handle = leaf->weight;
  leaf->weight.sum().backward();
  leaf->set("weight", test::iota({3, 2}));
  EXPECT_EQ(leaf->weight.sizes(), (Dims{3, 2}));
  EXPECT_TRUE(old_handle.is_same(leaf->weight));
  EXPECT_TRUE(leaf->weight.requires_grad());
  EXPECT_FALSE(leaf->weight.grad().defined());
  EXPECT_EQ(leaf->named_parameters()[0].second.sum().item(), 15.0);
  leaf->set("running", test::iota({2}));
  EXPECT_EQ(leaf->running.to_vector<float>(), (std::vector<float>{0, 1}));
  test::expect_error<ValueError>([&] { leaf->set("nothing", test::iota({2})); }, {"Leaf", "nothing"});
}

TEST(Module, RegistrationErrors) {
  struct BadImpl : Module {
    std::string name() const override { return "Bad"; }
    void add(const std::string& n) { register_parameter(n, zeros({1})); }
    void add_module(const std::string& n) { register_module(n, nn::ModulePtr()); }
  };
  auto bad = std::make_shared<BadImpl>();
  bad->add("w");
  test::expect_error<ValueError>([&] { bad->add("w"); }, {"Bad", "\"w\"", "already taken"});
  test::expect_error<ValueError>([&] { bad->add("a.b"); }, {"Bad", "a.b", "\".\""});
  test::expect_error<ValueError>([&] { bad->add(""); }, {"Bad", "empty"});
  test::expect_error<ValueError>([&] { bad->add_module("m"); }, {"Bad", "\"m\"", "null"});
  test::expect_error<ValueError>([&] { bad->forward(zeros({1})); }, {"Bad", "forward"});
}

TEST(Module, ParameterOfAComputedTensorIsALeaf) {
  struct FromImpl : Module {
    explicit FromImpl(const Tensor& v) { w = register_parameter("w", v * 2); }
    std::string name() const override { return "From"; }
    Tensor w;
  };
  Tensor src = ones({2}, {.requires_grad = true});
  auto m = std::make_shared<FromImpl>(src);
  EXPECT_TRUE(m->w.is_leaf());
  EXPECT_TRUE(m->w.requires_grad());
  EXPECT_EQ(m->w.sum().item(), 4.0);
}

TEST(Module, ModuleOnTheStackListsItself) {
  BlockImpl block;
  auto modules = block.named_modules();
  ASSERT_EQ(modules.size(), 4u);
  EXPECT_EQ(modules[0].second.get(), &block);
  EXPECT_EQ(names_of(block.named_parameters()), (Names{"scale", "inner.weight", "empty.weight", "multi.weight"}));
}

TEST(Module, HolderCallsForward) {
  Leaf leaf(1, "");
  EXPECT_EQ(leaf(ones({3})).sum().item(), 6.0);
  nn::ModulePtr as_base = leaf;
  EXPECT_EQ(as_base->name(), "Leaf");
}


TEST(Module, ValuesPrintAsPython) {
  // repr() of the same floats in Python 3.
  const std::pair<double, const char*> floats[] = {
      {0.01, "0.01"},       {1.0, "1.0"},         {1e-05, "1e-05"},     {100000.0, "100000.0"},
      {1e16, "1e+16"},      {1e15, "1000000000000000.0"}, {0.0001, "0.0001"}, {-0.0, "-0.0"},
      {0.1, "0.1"},         {-2.5, "-2.5"},       {1.5e-07, "1.5e-07"}, {123.456, "123.456"},
      {1.0 / 3, "0.3333333333333333"}, {2.5e+20, "2.5e+20"}, {1e100, "1e+100"}};
  for (const auto& [value, text] : floats) EXPECT_EQ(nn::repr_float(value), text);
  EXPECT_EQ(nn::repr_float(INFINITY), "inf");
  EXPECT_EQ(nn::repr_float(-INFINITY), "-inf");
  EXPECT_EQ(nn::repr_float(NAN), "nan");
  EXPECT_EQ(nn::repr_bool(false), "False");
  EXPECT_EQ(nn::repr_tuple({2, 5}), "(2, 5)");
  EXPECT_EQ(nn::repr_tuple({2}), "(2,)");
  EXPECT_EQ(nn::repr_tuple({}), "()");
}

// A shared base class that registers in its own constructor, before the derived class
// (which defines name()) exists: registration must not call the pure virtual name().
struct ScaleBase : Module {
  ScaleBase() { scale = register_parameter("scale", ones({3})); }
  Tensor scale;
};
struct Scale final : ScaleBase {
  std::string name() const override { return "Scale"; }
};

TEST(Module, RegistersFromAnIntermediateBaseConstructor) {
  auto m = std::make_shared<Scale>();
  ASSERT_EQ(m->named_parameters().size(), 1u);
  EXPECT_EQ(m->named_parameters()[0].first, "scale");
  EXPECT_TRUE(m->scale.requires_grad());
}

}  // namespace
}  // namespace cajal
