// Dropout layers.
#include "cajal/nn/dropout.h"

#include "cajal/ops/dropout.h"

namespace cajal::nn {

DropoutLayer::DropoutLayer(const char* name, double p, Function fn) : name_(name), p_(p), fn_(fn) {
  if (!(p >= 0 && p <= 1)) fail<ValueError>(name, ": dropout probability has to be between 0 and 1, but got ", p);
}

DropoutImpl::DropoutImpl(double p) : DropoutLayer("Dropout", p, dropout) {}
Dropout2dImpl::Dropout2dImpl(double p) : DropoutLayer("Dropout2d", p, dropout2d) {}
AlphaDropoutImpl::AlphaDropoutImpl(double p) : DropoutLayer("AlphaDropout", p, alpha_dropout) {}

}  // namespace cajal::nn
