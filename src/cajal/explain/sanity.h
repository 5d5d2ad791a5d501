#pragma once
// Sanity checks for saliency methods (Adebayo et al. 2018, "Sanity Checks for Saliency Maps"):
// an explanation that reflects what a model learned must change when the model's weights are
// replaced by random ones ("model parameter randomization"). Compare a method's maps before and
// after randomize_parameters with spearman_correlation: a method that passes gives a low rank
// correlation, one that mostly redraws the input (an edge detector) a high one.
//
//   Tensor before = explain::saliency(f, images, targets);
//   explain::randomize_parameters(*model, 7);            // every layer
//   Tensor after = explain::saliency(f, images, targets);
//   explain::spearman_correlation(before, after);        // near 0 for a method that passes
#include <cstdint>
#include <string>

#include "cajal/core/tensor.h"

namespace cajal::nn {
class Module;
}

namespace cajal::explain {

// Spearman's rank correlation of the elements of a and b (any shapes with the same number of
// elements, compared in flattened order): the Pearson correlation of their ranks, tied values
// getting the mean of the ranks they span, as scipy.stats.spearmanr. In [-1, 1]; NaN when all
// the elements of a or of b are equal (no ranking), as scipy. Fewer than two elements, different
// element counts or NaN values are a ValueError.
double spearman_correlation(const Tensor& a, const Tensor& b);

// Re-initializes parameters at random, in place, for the randomization test. The modules
// holding parameters are taken in named_modules() order (registration order: from input to
// output in a Sequential). With an empty `from_layer` every parameter is redrawn; otherwise the
// module at `from_layer` (a dotted path, as get_submodule), its descendants and every module
// after it are redrawn, and the modules before it keep their values: the paper's cascading
// randomization, from the top (output) layer down to `from_layer` (call it with from_layer
// moving from the last layer to the first for the cascade's successive models).
// Each parameter is redrawn as torch initializes Linear and Conv layers, from one Generator
// seeded with `seed` (the same seed redraws the same values), module by module, parameter by
// parameter in registration order:
//   - a parameter with 2 or more dims: nn::init::kaiming_uniform_ with a = sqrt(5), that is
//     U(-1/sqrt(fan_in), 1/sqrt(fan_in));
//   - any other (biases, normalization scales and shifts): U(-b, b) with b = 1/sqrt(fan_in) of
//     the module's first parameter of 2 or more dims, or b = 1 in a module without one.
// Frozen parameters are redrawn too; buffers (batch norm's running statistics) keep their values.
// A from_layer that is not in the model is a ValueError naming it (get_submodule's), and so is
// one at and after which no module holds a parameter.
void randomize_parameters(nn::Module& model, uint64_t seed, const std::string& from_layer = "");

}  // namespace cajal::explain
