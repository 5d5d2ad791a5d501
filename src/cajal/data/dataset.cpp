#include "cajal/data/dataset.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <sstream>

#include "cajal/ops/creation.h"
#include "cajal/ops/random.h"
#include "cajal/ops/shape.h"

namespace cajal::data {

Dataset::~Dataset() = default;

Example Dataset::get_in_epoch(int64_t index, int64_t /*epoch*/) const { return get(index); }

std::string Dataset::describe() const { return detail::concat("Dataset(", size(), " examples)"); }

void check_index(const Dataset& dataset, int64_t index) {
  if (index < 0 || index >= dataset.size())
    fail<IndexError>("dataset: index ", index, " is out of range for ", dataset.describe());
}

namespace {

// Checks that every tensor of one field (input or target) has the first one's shape and dtype.
// Examples are named by indices[i] when indices are given, by their position i otherwise.
void check_same_layout(const std::vector<Example>& examples, const std::vector<int64_t>& indices,
                       Tensor Example::*field, const char* name) {
  auto index = [&](size_t i) { return indices.empty() ? static_cast<int64_t>(i) : indices[i]; };
  const Tensor& first = examples.front().*field;
  for (size_t i = 0; i < examples.size(); ++i) {
    const Tensor& t = examples[i].*field;
    if (!t.defined()) fail<ValueError>("collate: example ", index(i), " has no ", name);
    if (t.dtype() != first.dtype())
      fail<DTypeError>("collate: example ", index(i), " has ", name, " dtype ", t.dtype(), " but example ", index(0),
                       " has ", first.dtype());
    if (t.sizes() != first.sizes())
      fail<ShapeError>("collate: example ", index(i), " has ", name, " shape ", t.sizes(), " but example ", index(0),
                       " has ", first.sizes());
  }
}

Tensor stack_field(const std::vector<Example>& examples, Tensor Example::*field) {
  TensorList parts;
  parts.reserve(examples.size());
  for (const Example& e : examples) parts.push_back(e.*field);
  return stack(parts, 0);
}

// The shape of one example of a batched tensor: "[1, 28, 28]".
std::string example_shape(const Tensor& batched) {
  std::ostringstream os;
  os << Dims(batched.sizes().begin() + 1, batched.sizes().end());
  return os.str();
}

}  // namespace

Batch collate(const std::vector<Example>& examples, const std::vector<int64_t>& indices) {
  if (examples.empty()) fail<ValueError>("collate: no examples to stack");
  if (!indices.empty() && indices.size() != examples.size())
    fail<ValueError>("collate: ", indices.size(), " indices for ", examples.size(), " examples");
  check_same_layout(examples, indices, &Example::input, "input");
  check_same_layout(examples, indices, &Example::target, "target");
  Batch batch{stack_field(examples, &Example::input), stack_field(examples, &Example::target),
              static_cast<int64_t>(examples.size())};
  if (examples.front().weight.defined()) {
    check_same_layout(examples, indices, &Example::weight, "weight");
    batch.weight = stack_field(examples, &Example::weight);
  }
  return batch;
}

// ---- weighted ----

namespace {

class WeightedDataset : public Dataset {
 public:
  WeightedDataset(DatasetPtr base, Tensor weights) : base_(std::move(base)), weights_(std::move(weights)) {}
  int64_t size() const override { return base_->size(); }
  Example get(int64_t index) const override { return get_in_epoch(index, 0); }
  Example get_in_epoch(int64_t index, int64_t epoch) const override {
    check_index(*this, index);
    Example example = base_->get_in_epoch(index, epoch);
    example.weight = weights_[index];
    return example;
  }
  std::string describe() const override { return "weighted " + base_->describe(); }

 private:
  DatasetPtr base_;
  Tensor weights_;  // float32 [size]
};

}  // namespace

DatasetPtr weighted(DatasetPtr base, const Tensor& weights) {
  if (!base) fail<ValueError>("weighted: no dataset");
  if (!weights.defined() || weights.dim() != 1 || weights.size(0) != base->size())
    fail<ShapeError>("weighted: expected one weight per example ([", base->size(), "]), got ",
                     weights.defined() ? weights.sizes() : Dims{});
  if (!weights.is_floating_point()) fail<DTypeError>("weighted: weights must be floating, got ", weights.dtype());
  const std::vector<double> values = weights.to_vector<double>();
  for (size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i]) || values[i] < 0)
      fail<ValueError>("weighted: weight ", values[i], " of example ", i, " is not a finite non-negative number");
  return std::make_shared<WeightedDataset>(std::move(base), weights.to(DType::f32).contiguous());
}

// ---- TensorDataset ----

TensorDataset::TensorDataset(Tensor inputs, Tensor targets) : inputs_(std::move(inputs)), targets_(std::move(targets)) {
  if (!inputs_.defined() || !targets_.defined()) fail<ValueError>("TensorDataset: inputs and targets must be defined");
  if (inputs_.dim() == 0 || targets_.dim() == 0)
    fail<ShapeError>("TensorDataset: inputs and targets need a first (example) dim, got shapes ", inputs_.sizes(),
                     " and ", targets_.sizes());
  if (inputs_.size(0) != targets_.size(0))
    fail<ShapeError>("TensorDataset: ", inputs_.size(0), " inputs but ", targets_.size(0), " targets (shapes ",
                     inputs_.sizes(), " and ", targets_.sizes(), ")");
}

int64_t TensorDataset::size() const { return inputs_.size(0); }

Example TensorDataset::get(int64_t index) const {
  check_index(*this, index);
  return {inputs_[index], targets_[index]};
}

std::string TensorDataset::describe() const {
  return detail::concat("TensorDataset(", size(), " examples, input ", example_shape(inputs_), " ", inputs_.dtype(),
                        ", target ", example_shape(targets_), " ", targets_.dtype(), ")");
}

DatasetPtr tensor_dataset(Tensor inputs, Tensor targets) {
  return std::make_shared<TensorDataset>(std::move(inputs), std::move(targets));
}

// ---- LambdaDataset ----

LambdaDataset::LambdaDataset(int64_t size, ExampleFunction make, std::string name)
    : size_(size), make_(std::move(make)), name_(std::move(name)) {
  if (size < 0) fail<ValueError>(name_, ": size must be non-negative, got ", size);
  if (!make_) fail<ValueError>(name_, ": no function to make examples");
}

Example LambdaDataset::get(int64_t index) const {
  check_index(*this, index);
  return make_(index);
}

std::string LambdaDataset::describe() const { return detail::concat(name_, "(", size_, " examples)"); }

DatasetPtr lambda_dataset(int64_t size, ExampleFunction make, std::string name) {
  return std::make_shared<LambdaDataset>(size, std::move(make), std::move(name));
}

// ---- Subset ----

Subset::Subset(DatasetPtr base, std::vector<int64_t> indices) : base_(std::move(base)), indices_(std::move(indices)) {
  if (!base_) fail<ValueError>("Subset: no base dataset");
  const int64_t n = base_->size();
  for (size_t i = 0; i < indices_.size(); ++i)
    if (indices_[i] < 0 || indices_[i] >= n)
      fail<IndexError>("Subset: index ", indices_[i], " (position ", i, ") is out of range for ", base_->describe());
}

int64_t Subset::size() const { return static_cast<int64_t>(indices_.size()); }

Example Subset::get(int64_t index) const {
  check_index(*this, index);
  return base_->get(indices_[index]);
}

Example Subset::get_in_epoch(int64_t index, int64_t epoch) const {
  check_index(*this, index);
  return base_->get_in_epoch(indices_[index], epoch);
}

std::string Subset::describe() const { return detail::concat("Subset(", size(), " of ", base_->describe(), ")"); }

DatasetPtr subset(DatasetPtr base, std::vector<int64_t> indices) {
  return std::make_shared<Subset>(std::move(base), std::move(indices));
}

namespace {

// Each example's integer class label, read once.
std::vector<int64_t> class_labels(const Dataset& dataset, const char* what) {
  std::vector<int64_t> labels(static_cast<size_t>(dataset.size()));
  for (int64_t i = 0; i < dataset.size(); ++i) {
    const Tensor target = dataset.get(i).target;
    if (target.numel() != 1 || is_floating(target.dtype()))
      fail<ValueError>(what, ": example ", i, " of ", dataset.describe(), " has no integer class label");
    labels[static_cast<size_t>(i)] = target.to(DType::i64).item<int64_t>();
  }
  return labels;
}

}  // namespace

DatasetPtr select_classes(DatasetPtr base, const std::vector<int64_t>& classes) {
  const std::vector<int64_t> labels = class_labels(*base, "select_classes");
  std::vector<int64_t> indices, counts(classes.size(), 0);
  for (size_t c = 0; c < classes.size(); ++c)
    for (size_t d = 0; d < c; ++d)
      if (classes[c] == classes[d]) fail<ValueError>("select_classes: class ", classes[c], " is listed twice");
  for (size_t i = 0; i < labels.size(); ++i) {
    auto it = std::find(classes.begin(), classes.end(), labels[i]);
    if (it == classes.end()) continue;
    indices.push_back(static_cast<int64_t>(i));
    ++counts[static_cast<size_t>(it - classes.begin())];
  }
  for (size_t c = 0; c < classes.size(); ++c)
    if (counts[c] == 0) fail<ValueError>("select_classes: no example of class ", classes[c], " in ", base->describe());
  Transform relabel = [classes](Example e, Generator&) {
    const int64_t label = e.target.to(DType::i64).item<int64_t>();
    const auto position = static_cast<int64_t>(std::find(classes.begin(), classes.end(), label) - classes.begin());
    e.target = full({}, position, {.dtype = DType::i64});
    return e;
  };
  return transform(subset(std::move(base), std::move(indices)), relabel, 0, "classes");
}

DatasetPtr take_per_class(DatasetPtr base, int64_t per_class, uint64_t seed) {
  if (per_class < 1) fail<ValueError>("take_per_class: per_class must be at least 1, got ", per_class);
  const std::vector<int64_t> labels = class_labels(*base, "take_per_class");
  // A permutation fixed by the seed; the first per_class of each class in it are kept.
  Generator gen(seed);
  std::vector<int64_t> order(labels.size());
  std::iota(order.begin(), order.end(), 0);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[gen.next_u64() % i]);
  std::map<int64_t, int64_t> taken;
  std::vector<int64_t> indices;
  for (int64_t i : order) {
    int64_t& count = taken[labels[static_cast<size_t>(i)]];
    if (count < per_class) {
      ++count;
      indices.push_back(i);
    }
  }
  for (const auto& [label, count] : taken)
    if (count < per_class)
      fail<ValueError>("take_per_class: ", per_class, " examples of class ", label, " asked for, ", base->describe(), " has ",
                       count);
  std::sort(indices.begin(), indices.end());
  return subset(std::move(base), std::move(indices));
}

// ---- splits ----

std::vector<DatasetPtr> random_split(DatasetPtr dataset, const std::vector<double>& fractions, uint64_t seed) {
  if (!dataset) fail<ValueError>("random_split: no dataset");
  if (fractions.empty()) fail<ValueError>("random_split: no fractions given");
  double total = 0;
  for (double f : fractions) {
    if (!(f > 0 && f <= 1)) fail<ValueError>("random_split: each fraction must be in (0, 1], got ", f);
    total += f;
  }
  if (std::abs(total - 1) > 1e-6) fail<ValueError>("random_split: fractions must sum to 1, they sum to ", total);

  const int64_t n = dataset->size();
  std::vector<int64_t> sizes;
  int64_t assigned = 0;
  for (double f : fractions) {
    sizes.push_back(static_cast<int64_t>(std::floor(f * static_cast<double>(n))));
    assigned += sizes.back();
  }
  // Rounding down leaves fewer than fractions.size() examples; give them out one each.
  for (size_t k = 0; assigned < n; k = (k + 1) % sizes.size(), ++assigned) ++sizes[k];

  Generator gen(seed);
  const std::vector<int64_t> order = randperm(n, &gen).to_vector<int64_t>();
  std::vector<DatasetPtr> parts;
  auto begin = order.begin();
  for (int64_t part_size : sizes) {
    parts.push_back(subset(dataset, std::vector<int64_t>(begin, begin + part_size)));
    begin += part_size;
  }
  return parts;
}

TrainValSplit train_val_split(DatasetPtr dataset, double val_fraction, uint64_t seed) {
  if (!(val_fraction > 0 && val_fraction < 1))
    fail<ValueError>("train_val_split: val_fraction must be in (0, 1), got ", val_fraction);
  std::vector<DatasetPtr> parts = random_split(std::move(dataset), {1 - val_fraction, val_fraction}, seed);
  return {parts[0], parts[1]};
}

// ---- ConcatDataset ----

ConcatDataset::ConcatDataset(std::vector<DatasetPtr> parts) : parts_(std::move(parts)) {
  int64_t end = 0;
  for (size_t k = 0; k < parts_.size(); ++k) {
    if (!parts_[k]) fail<ValueError>("ConcatDataset: part ", k, " is null");
    end += parts_[k]->size();
    ends_.push_back(end);
  }
}

int64_t ConcatDataset::size() const { return ends_.empty() ? 0 : ends_.back(); }

Example ConcatDataset::get(int64_t index) const { return get_in_epoch(index, 0); }

Example ConcatDataset::get_in_epoch(int64_t index, int64_t epoch) const {
  check_index(*this, index);
  // The first part whose end lies beyond index holds it.
  const size_t k = std::upper_bound(ends_.begin(), ends_.end(), index) - ends_.begin();
  const int64_t start = k == 0 ? 0 : ends_[k - 1];
  return parts_[k]->get_in_epoch(index - start, epoch);
}

std::string ConcatDataset::describe() const {
  std::ostringstream os;
  os << "ConcatDataset(" << size() << " examples: ";
  for (size_t k = 0; k < parts_.size(); ++k) os << (k ? " + " : "") << parts_[k]->describe();
  os << ")";
  return os.str();
}

DatasetPtr concat(std::vector<DatasetPtr> parts) { return std::make_shared<ConcatDataset>(std::move(parts)); }

// ---- TransformDataset ----

namespace {
// SplitMix64's finalizer: a bijection that spreads every input bit over the output.
uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
}  // namespace

uint64_t example_seed(uint64_t seed, int64_t epoch, int64_t index) {
  return mix64(mix64(mix64(seed) ^ static_cast<uint64_t>(epoch)) ^ static_cast<uint64_t>(index));
}

TransformDataset::TransformDataset(DatasetPtr base, Transform transform, uint64_t seed, std::string name)
    : base_(std::move(base)), transform_(std::move(transform)), seed_(seed), name_(std::move(name)) {
  if (!base_) fail<ValueError>("TransformDataset: no base dataset");
  if (!transform_) fail<ValueError>("TransformDataset: no transform");
}

int64_t TransformDataset::size() const { return base_->size(); }

Example TransformDataset::get(int64_t index) const { return get_in_epoch(index, 0); }

Example TransformDataset::get_in_epoch(int64_t index, int64_t epoch) const {
  check_index(*this, index);
  Generator gen(example_seed(seed_, epoch, index));
  return transform_(base_->get_in_epoch(index, epoch), gen);
}

std::string TransformDataset::describe() const {
  return detail::concat("TransformDataset(", name_, " of ", base_->describe(), ")");
}

DatasetPtr transform(DatasetPtr base, Transform transform, uint64_t seed, std::string name) {
  return std::make_shared<TransformDataset>(std::move(base), std::move(transform), seed, std::move(name));
}

}  // namespace cajal::data
