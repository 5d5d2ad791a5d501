// An undefined (default-constructed) Tensor given to any public op or Tensor method throws a
// cajal::Error that names the op; it never dereferences null. The ops are the parity test's
// registry, called with every argument undefined and then with one undefined argument
// beside defined ones.
#include <functional>

#include "ops/op_registry.h"
#include "support/test_support.h"

using namespace cajal;

namespace {

// The op a message names: the text before the first ':'.
std::string named_op(const std::string& message) { return message.substr(0, message.find(':')); }

// Runs `call`; it must throw a cajal::Error (not crash, not another exception) whose message
// starts with an op name that `accept` takes. Returns the message.
std::string expect_named_error(const std::function<void()>& call, const std::function<bool(const std::string&)>& accept,
                               const std::string& what) {
  try {
    call();
  } catch (const Error& e) {
    std::string message = e.what();
    EXPECT_TRUE(accept(named_op(message))) << what << ": the message names '" << named_op(message) << "': " << message;
    return message;
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": threw a non-cajal exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << what << ": did not throw";
  return "";
}

// The registry's keys are cases ("sum_dim0", "softmax_last"); the op they run is a prefix.
// The in-place cases first copy their input with `x * 1`, so mul is the op that sees it;
// sum_dims02 picks its dims by the input's rank, so dim() does.
bool names_case(const std::string& key, const std::string& op) {
  if (op.empty()) return false;
  if (key.ends_with("_inplace") && op == "mul") return true;
  if (key == "sum_dims02" && op == "dim") return true;
  return key.starts_with(op);
}

}  // namespace

TEST(Undefined, EveryRegistryOpWithAllArgumentsUndefined) {
  ASSERT_GT(test::op_registry().size(), 100u);
  for (const auto& entry : test::op_registry()) {  // no structured binding: lambdas capture these (clang 14)
    const std::string& key = entry.first;
    const test::OpFn& op = entry.second;
    std::string message = expect_named_error([&] { op(TensorList(3)); },
                                             [&](const std::string& name) { return names_case(key, name); }, key);
    EXPECT_NE(message.find("undefined"), std::string::npos) << key << ": " << message;
  }
}

// One undefined argument among defined ones (as in cross_entropy(logits, Tensor())). The op
// may fail on the defined ones first (an index of the wrong dtype); it must still fail cleanly
// and name itself, or succeed when it does not use that argument.
TEST(Undefined, EveryRegistryOpWithOneArgumentUndefined) {
  Tensor defined = test::iota({3, 4, 5});  // large enough for the cases that index their result (chunk3_..._piece2)
  for (const auto& [key, op] : test::op_registry()) {
    for (size_t position = 0; position < 3; ++position) {
      TensorList args(3, defined);
      args[position] = Tensor();
      try {
        op(args);
      } catch (const Error& e) {
        EXPECT_TRUE(names_case(key, named_op(e.what()))) << key << " argument " << position << ": " << e.what();
      } catch (const std::exception& e) {
        ADD_FAILURE() << key << " argument " << position << ": threw a non-cajal exception: " << e.what();
      }
    }
  }
}

TEST(Undefined, TensorMethodsNameThemselves) {
  Tensor x;
  Tensor ok = test::iota({2, 3});
  const std::vector<std::pair<std::string, std::function<void()>>> methods = {
      {"sizes", [&] { (void)x.sizes(); }},
      {"shape", [&] { (void)x.shape(); }},
      {"strides", [&] { (void)x.strides(); }},
      {"size", [&] { (void)x.size(0); }},
      {"stride", [&] { (void)x.stride(0); }},
      {"dim", [&] { (void)x.dim(); }},
      {"numel", [&] { (void)x.numel(); }},
      {"offset", [&] { (void)x.offset(); }},
      {"dtype", [&] { (void)x.dtype(); }},
      {"device", [&] { (void)x.device(); }},
      {"element_size", [&] { (void)x.element_size(); }},
      {"is_contiguous", [&] { (void)x.is_contiguous(); }},
      {"is_floating_point", [&] { (void)x.is_floating_point(); }},
      {"raw_data", [&] { (void)x.raw_data(); }},
      {"data_ptr", [&] { (void)x.data_ptr<float>(); }},
      {"at", [&] { (void)x.at<float>({0}); }},
      {"item", [&] { (void)x.item(); }},
      {"to_vector", [&] { (void)x.to_vector<float>(); }},
      {"requires_grad", [&] { (void)x.requires_grad(); }},
      {"requires_grad_", [&] { x.requires_grad_(); }},
      {"is_leaf", [&] { (void)x.is_leaf(); }},
      {"grad_fn", [&] { (void)x.grad_fn(); }},
      {"grad", [&] { (void)x.grad(); }},
      {"set_grad", [&] { x.set_grad(ok); }},
      {"zero_grad", [&] { x.zero_grad(); }},
      {"retain_grad", [&] { x.retain_grad(); }},
      {"version", [&] { (void)x.version(); }},
      {"bump_version", [&] { x.bump_version(); }},
      {"register_hook", [&] { x.register_hook([](const Tensor& g) { return g; }); }},
      {"backward", [&] { x.backward(); }},
      {"detach", [&] { (void)x.detach(); }},
      {"detach_", [&] { x.detach_(); }},
      {"view", [&] { (void)x.view({6}); }},
      {"reshape", [&] { (void)x.reshape({6}); }},
      {"transpose", [&] { (void)x.transpose(0, 1); }},
      {"t", [&] { (void)x.t(); }},
      {"permute", [&] { (void)x.permute({1, 0}); }},
      {"slice", [&] { (void)x.slice(0, 0, 1); }},
      {"narrow", [&] { (void)x.narrow(0, 0, 1); }},
      {"select", [&] { (void)x.select(0, 0); }},
      {"select", [&] { (void)x[0]; }},
      {"expand", [&] { (void)x.expand({2, 3}); }},
      {"expand", [&] { (void)x.expand_as(ok); }},
      {"squeeze", [&] { (void)x.squeeze(); }},
      {"squeeze", [&] { (void)x.squeeze(0); }},
      {"unsqueeze", [&] { (void)x.unsqueeze(0); }},
      {"flatten", [&] { (void)x.flatten(); }},
      {"unflatten", [&] { (void)x.unflatten(0, {1, 1}); }},
      {"as_strided", [&] { (void)x.as_strided({1}, {1}, 0); }},
      {"contiguous", [&] { (void)x.contiguous(); }},
      {"clone", [&] { (void)x.clone(); }},
      {"to", [&] { (void)x.to(DType::f64); }},
      {"copy_", [&] { x.copy_(ok); }},
      {"copy_", [&] { Tensor y = ok.clone(); y.copy_(x); }},
      {"fill_", [&] { x.fill_(1); }},
      {"fill_", [&] { x.zero_(); }},
      {"add", [&] { (void)x.add(ok); }},
      {"add", [&] { (void)ok.add(x); }},
      {"add", [&] { (void)(x + 1); }},
      {"add", [&] { (void)(1 + x); }},
      {"sub", [&] { (void)(x - ok); }},
      {"mul", [&] { (void)(x * 2); }},
      {"div", [&] { (void)(ok / x); }},
      {"neg", [&] { (void)(-x); }},
      {"eq", [&] { (void)eq(x, 1); }},
      {"lt", [&] { (void)(x < ok); }},
      {"add_", [&] { x.add_(ok); }},
      {"add_", [&] { Tensor y = ok.clone(); y.add_(x); }},
      {"add_", [&] { x.add_(1); }},
      {"sub_", [&] { x.sub_(1); }},
      {"mul_", [&] { x.mul_(ok); }},
      {"mul_", [&] { x.mul_(2); }},
      {"div_", [&] { x.div_(2); }},
      {"pow", [&] { (void)x.pow(2); }},
      {"neg", [&] { (void)x.neg(); }},
      {"abs", [&] { (void)x.abs(); }},
      {"exp", [&] { (void)x.exp(); }},
      {"log", [&] { (void)x.log(); }},
      {"sqrt", [&] { (void)x.sqrt(); }},
      {"square", [&] { (void)x.square(); }},
      {"tanh", [&] { (void)x.tanh(); }},
      {"sigmoid", [&] { (void)x.sigmoid(); }},
      {"relu", [&] { (void)x.relu(); }},
      {"sum", [&] { (void)x.sum(); }},
      {"sum", [&] { (void)x.sum({0}); }},
      {"mean", [&] { (void)x.mean(); }},
      {"mean", [&] { (void)x.mean({0}); }},
      {"max", [&] { (void)x.max(); }},
      {"min", [&] { (void)x.min(); }},
      {"argmax", [&] { (void)x.argmax(); }},
      {"matmul", [&] { (void)x.matmul(ok); }},
      {"matmul", [&] { (void)ok.matmul(x); }},
      {"softmax", [&] { (void)x.softmax(0); }},
      {"log_softmax", [&] { (void)x.log_softmax(0); }},
      {"backward", [&] { Tensor y = ok.clone().requires_grad_(); (y * 2).sum().backward(); autograd::backward({x}); }},
      {"grad", [&] { Tensor y = ok.clone().requires_grad_(); (void)autograd::grad({(y * 2).sum()}, {x}); }},
  };
  for (const auto& method : methods) {
    const std::string& name = method.first;
    expect_named_error(method.second, [&](const std::string& op) { return op == name; }, name);
  }
  EXPECT_EQ(to_string(x), "tensor(undefined)");  // printing an undefined tensor is fine
}
