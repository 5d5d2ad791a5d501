#include "cajal/data/npy_pair.h"

#include "cajal/io/npy.h"

namespace cajal::data {

DatasetPtr load_npy_pair(const std::string& inputs_path, const std::string& targets_path) {
  // contiguous(): a Fortran-order file loads as a strided view; examples are read row by row.
  Tensor inputs = load_npy(inputs_path).contiguous();
  Tensor targets = load_npy(targets_path).contiguous();
  if (inputs.dim() == 0 || targets.dim() == 0 || inputs.size(0) != targets.size(0))
    fail<IOError>("load_npy_pair: inputs ", inputs.sizes(), " in ", inputs_path, " and targets ", targets.sizes(), " in ",
                  targets_path, " must have the same first (example) dim");
  return tensor_dataset(inputs, targets);
}

}  // namespace cajal::data
