#include "cajal/autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "cajal/autograd/engine.h"
#include "cajal/autograd/grad_mode.h"
#include "cajal/core/strided.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/reduce.h"

namespace cajal::autograd {

namespace {

// Deterministic weights in [-1, 1] that make every output element matter differently.
Tensor projection_like(const Tensor& y) {
  Tensor w = make_tensor(y.sizes(), DType::f64);
  double* p = w.data_ptr<double>();
  for (int64_t i = 0; i < w.numel(); ++i) p[i] = std::sin(1.0 + 0.7 * static_cast<double>(i));
  return w;
}

Tensor projected(const TestedFunction& f, const TensorList& inputs, const Tensor& w) {
  Tensor y = f(inputs);
  if (y.dtype() != DType::f64) y = y.to(DType::f64);
  return sum(y * w);
}

}  // namespace

GradcheckResult gradcheck(const TestedFunction& f, const TensorList& inputs, double eps, double atol, double rtol) {
  GradcheckResult result;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].dtype() != DType::f64 || !inputs[i].requires_grad())
      fail<ValueError>("gradcheck: input ", i, " must be float64 and require grad");
  Tensor w = projection_like(f(inputs));
  Tensor loss = projected(f, inputs, w);
  // A loss without history does not depend on the inputs: its analytic gradient is zero.
  TensorList analytic = loss.requires_grad() ? grad({loss}, inputs, {}, std::nullopt, false, true) : TensorList(inputs.size());
  // f runs in grad mode for the numeric part too: it may differentiate internally
  // (gradient penalties, and gradgradcheck below).
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    double* base = static_cast<double*>(x.raw_data());
    std::vector<double> numeric;
    for_each_offset(x.sizes(), x.strides(), [&](int64_t off) {
      double orig = base[off];
      base[off] = orig + eps;
      double plus = projected(f, inputs, w).item<double>();
      base[off] = orig - eps;
      double minus = projected(f, inputs, w).item<double>();
      base[off] = orig;
      numeric.push_back((plus - minus) / (2 * eps));
    });
    std::vector<double> a = analytic[i].defined() ? analytic[i].to_vector<double>() : std::vector<double>(numeric.size(), 0.0);
    for (size_t k = 0; k < numeric.size(); ++k) {
      double err = std::fabs(a[k] - numeric[k]);
      result.max_abs_error = std::max(result.max_abs_error, err);
      if (!(err <= atol + rtol * std::fabs(numeric[k])) && result.ok) {
        result.ok = false;
        std::ostringstream os;
        os << "input " << i << " element " << k << ": analytic " << a[k] << " vs numeric " << numeric[k];
        result.message = os.str();
      }
    }
  }
  return result;
}

GradcheckResult gradgradcheck(const TestedFunction& f, const TensorList& inputs, double eps, double atol, double rtol) {
  auto first_derivative = [&f](const TensorList& xs) {
    Tensor y = f(xs);
    Tensor w = projection_like(y);
    Tensor loss = sum(y.to(DType::f64) * w);
    TensorList gs = grad({loss}, xs, {}, true, true, true);
    // A projection of the gradients, so its derivative is a Hessian-vector product.
    Tensor total = zeros({}, {.dtype = DType::f64});
    for (const Tensor& g : gs)
      if (g.defined()) total = total + sum(g * projection_like(g));
    return total;
  };
  return gradcheck(first_derivative, inputs, eps, atol, rtol);
}

}  // namespace cajal::autograd
