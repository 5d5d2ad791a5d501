// A small user program, compiled (not run) by build_time.sh to time how long including
// the umbrella header <cajal/cajal.h> costs a user's build.
#include <iostream>

#include <cajal/cajal.h>

using namespace cajal;

int main() {
  Tensor w = randn({4, 3}).requires_grad_();
  Tensor x = ones({2, 4});
  Tensor loss = mean(square(relu(matmul(x, w)) - 1));
  loss.backward();
  std::cout << loss << "\n" << w.grad() << "\n";
}
