// `cajal sample RUN [--count N] [--class K] [--seed S] [--columns C] [--output grid.png]`
#include <iostream>

#include "cajal/cli/args.h"
#include "cajal/cli/commands.h"
#include "cajal/cli/generative_model.h"
#include "cajal/data/image.h"
#include "cajal/ops/creation.h"

namespace cajal::cli {

namespace {

// --class as an index or a class name; a UsageError names the classes there are.
int64_t class_option(const std::string& text, const GenerativeModel& model, const std::string& path) {
  const int64_t classes = model.conditional_classes();
  if (classes == 0) {
    fail<UsageError>("cajal sample: --class ", text, ": ", path, " is not class-conditional (trained with model.conditional: false)");
  }
  for (int64_t k = 0; k < static_cast<int64_t>(model.class_names.size()); ++k)
    if (model.class_names[k] == text) return k;
  auto index = models::parse_int(text);
  if (!index || *index < 0 || *index >= classes) {
    std::string names;
    for (int64_t k = 0; k < classes && k < static_cast<int64_t>(model.class_names.size()); ++k)
      names += (k == 0 ? " (" : ", ") + std::to_string(k) + " " + model.class_names[k] + (k + 1 == classes ? ")" : "");
    fail<UsageError>("cajal sample: --class ", text, " is out of range: the model has ", classes, " classes, 0 to ", classes - 1, names);
  }
  return *index;
}

}  // namespace

int sample_command(const std::vector<std::string>& argv) {
  Args args = parse_args(argv, "sample", {"--count", "--class", "--seed", "--columns", "--output"});
  if (args.positional.size() != 1) fail<UsageError>("cajal sample: expected one run folder or model file");
  LoadedGenerative loaded = load_generative_model(args.positional[0], "sample");
  const GenerativeModel& model = loaded.model;
  const int64_t count = int_option(args, "sample", "--count", 64, 1);
  constexpr int64_t kMaxCount = 10000;
  if (count > kMaxCount) fail<UsageError>("cajal sample: --count must be at most ", kMaxCount, ", got ", count);
  const int64_t seed = int_option(args, "sample", "--seed", 0, 0);
  const std::string output = args.value("--output").value_or("samples.png");

  Tensor labels;
  int64_t columns = 8;
  if (auto text = args.value("--class")) {
    labels = full({count}, class_option(*text, model, loaded.path), {.dtype = DType::i64});
  } else if (model.conditional_classes() > 0) {  // every class in turn: one column each
    labels = cycling_labels(count, model.conditional_classes());
    columns = model.conditional_classes();
  }
  columns = int_option(args, "sample", "--columns", columns, 1);
  Generator gen(static_cast<uint64_t>(seed));
  Tensor images = model.sample(count, labels, &gen);
  data::write_png(data::image_grid(images, columns), output);
  std::cout << "wrote " << count << " samples of " << loaded.path << " to " << output << std::endl;
  return 0;
}

}  // namespace cajal::cli
