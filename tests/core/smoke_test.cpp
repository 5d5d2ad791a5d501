#include "support/test_support.h"

using namespace cajal;

TEST(Smoke, AddBackward) {
  Tensor a = tensor({1.f, 2.f, 3.f}).requires_grad_();
  Tensor b = tensor({4.f, 5.f, 6.f}).requires_grad_();
  Tensor y = (a * b + a).sum();
  y.backward();
  EXPECT_TRUE(test::all_close(a.grad(), tensor({5.f, 6.f, 7.f})));
  EXPECT_TRUE(test::all_close(b.grad(), tensor({1.f, 2.f, 3.f})));
}
