#pragma once
// Datasets: indexable collections of (input, target) examples, and the wrappers that
// select, split, join and augment them. A dataset is immutable once built and shared as
// DatasetPtr (shared_ptr<const Dataset>), so the DataLoader's worker threads can call
// get() on it concurrently.
//
//   auto data = data::tensor_dataset(images, labels);            // [N, 1, 28, 28], [N]
//   auto [train, val] = data::train_val_split(data, 0.1, seed);
//   auto augmented = data::transform(train, random_flip, seed);  // reproducible per (seed, epoch, index)
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cajal/core/generator.h"
#include "cajal/core/tensor.h"

namespace cajal::data {

struct Example {
  Tensor input;
  Tensor target;
  // Optional: this example's weight in the training loss, a float32 scalar (reweighing for
  // fairness, data::weighted). Examples of one dataset all have one or none.
  Tensor weight = {};
};

class Dataset {
 public:
  virtual ~Dataset();
  virtual int64_t size() const = 0;
  // The example at `index` (0 <= index < size()). Thread-safe: called from loader workers.
  virtual Example get(int64_t index) const = 0;
  // The example as seen in `epoch`. Only datasets whose examples change per epoch (random
  // augmentation: TransformDataset) and the wrappers around them (Subset, ConcatDataset)
  // override it; the DataLoader calls this one. Defaults to get(index).
  virtual Example get_in_epoch(int64_t index, int64_t epoch) const;
  // One line for logs and errors, e.g. "TensorDataset(60000 examples, input [1, 28, 28], target [])".
  virtual std::string describe() const;
};
using DatasetPtr = std::shared_ptr<const Dataset>;

// A batch as the DataLoader yields it: inputs and targets stacked along a new first dim.
struct Batch {
  Tensor input;
  Tensor target;
  int64_t size = 0;
  Tensor weight = {};  // float32 [B] when the examples have weights
};

// Stacks examples into a batch (input [B, ...], target [B, ...]); every example must have
// the same input shape and dtype, and the same target shape and dtype (a ShapeError or
// DTypeError names the first example that differs). `indices`, when given (the DataLoader
// does), are the examples' dataset indices, and errors name examples by them rather than
// by their position in the batch.
Batch collate(const std::vector<Example>& examples, const std::vector<int64_t>& indices = {});

// Checks 0 <= index < size and throws an IndexError naming the dataset otherwise.
void check_index(const Dataset& dataset, int64_t index);

// ---- in-memory tensors --------------------------------------------------------------

// Example i is (inputs[i], targets[i]): inputs [N, ...], targets [N] or [N, ...].
class TensorDataset : public Dataset {
 public:
  TensorDataset(Tensor inputs, Tensor targets);
  int64_t size() const override;
  Example get(int64_t index) const override;
  std::string describe() const override;
  const Tensor& inputs() const { return inputs_; }
  const Tensor& targets() const { return targets_; }

 private:
  Tensor inputs_;
  Tensor targets_;
};
DatasetPtr tensor_dataset(Tensor inputs, Tensor targets);

// ---- computed on demand -------------------------------------------------------------

// Example i is make(i), computed when asked for (make must be thread-safe).
using ExampleFunction = std::function<Example(int64_t index)>;
class LambdaDataset : public Dataset {
 public:
  LambdaDataset(int64_t size, ExampleFunction make, std::string name = "LambdaDataset");
  int64_t size() const override { return size_; }
  Example get(int64_t index) const override;
  std::string describe() const override;

 private:
  int64_t size_;
  ExampleFunction make_;
  std::string name_;
};
DatasetPtr lambda_dataset(int64_t size, ExampleFunction make, std::string name = "LambdaDataset");

// ---- selecting, splitting, joining --------------------------------------------------

// `base` with example i weighted by weights[i] (Example::weight): a weighted loss reads them
// from each batch. weights: floating [size], finite and non-negative.
DatasetPtr weighted(DatasetPtr base, const Tensor& weights);

// The examples of `base` at `indices`, in that order (indices checked against base).
class Subset : public Dataset {
 public:
  Subset(DatasetPtr base, std::vector<int64_t> indices);
  int64_t size() const override;
  Example get(int64_t index) const override;
  Example get_in_epoch(int64_t index, int64_t epoch) const override;
  std::string describe() const override;
  const std::vector<int64_t>& indices() const { return indices_; }
  const DatasetPtr& base() const { return base_; }

 private:
  DatasetPtr base_;
  std::vector<int64_t> indices_;
};
DatasetPtr subset(DatasetPtr base, std::vector<int64_t> indices);

// The examples whose class label is one of `classes`, relabelled by position in that list
// (classes {5, 6, 7}: labels 5, 6, 7 become 0, 1, 2): a task made of some classes of a larger
// dataset. ValueError naming a class with no example, or a repeated class.
DatasetPtr select_classes(DatasetPtr base, const std::vector<int64_t>& classes);
// `per_class` examples of each class label (integer labels), drawn by `seed`, in dataset
// order: the few-labels regimes of transfer learning. ValueError naming a class that has fewer.
DatasetPtr take_per_class(DatasetPtr base, int64_t per_class, uint64_t seed);

// Splits a random permutation of `dataset` (a function of `seed` only) into consecutive
// parts with the given fractions (each in (0, 1], summing to 1 within 1e-6). Part sizes are
// floor(fraction * N), and the examples left over by rounding go one each to the first
// parts, so the sizes always sum to N.
std::vector<DatasetPtr> random_split(DatasetPtr dataset, const std::vector<double>& fractions, uint64_t seed);

struct TrainValSplit {
  DatasetPtr train;
  DatasetPtr val;
};
// random_split into (1 - val_fraction, val_fraction); val_fraction in (0, 1).
TrainValSplit train_val_split(DatasetPtr dataset, double val_fraction, uint64_t seed);

// The examples of each part one after the other.
class ConcatDataset : public Dataset {
 public:
  explicit ConcatDataset(std::vector<DatasetPtr> parts);
  int64_t size() const override;
  Example get(int64_t index) const override;
  Example get_in_epoch(int64_t index, int64_t epoch) const override;
  std::string describe() const override;

 private:
  std::vector<DatasetPtr> parts_;
  std::vector<int64_t> ends_;  // ends_[k]: one past the last global index of part k
};
DatasetPtr concat(std::vector<DatasetPtr> parts);

// ---- per-example transforms (augmentation) ------------------------------------------

// A transform gets the example and a Generator for its random choices.
using Transform = std::function<Example(Example, Generator&)>;

// The generator seed for example `index` in `epoch`: a hash of the three numbers, so an
// example's augmentation depends on nothing else (not the worker, not the batch order).
uint64_t example_seed(uint64_t seed, int64_t epoch, int64_t index);

// Applies `transform` to each example of `base`, with Generator(example_seed(seed, epoch, index)).
// get(index) is get_in_epoch(index, 0).
class TransformDataset : public Dataset {
 public:
  TransformDataset(DatasetPtr base, Transform transform, uint64_t seed = 0, std::string name = "transform");
  int64_t size() const override;
  Example get(int64_t index) const override;
  Example get_in_epoch(int64_t index, int64_t epoch) const override;
  std::string describe() const override;

 private:
  DatasetPtr base_;
  Transform transform_;
  uint64_t seed_;
  std::string name_;
};
DatasetPtr transform(DatasetPtr base, Transform transform, uint64_t seed = 0, std::string name = "transform");

}  // namespace cajal::data
