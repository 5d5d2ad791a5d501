// `cajal generate MODEL_OR_RUN --prompt TEXT [--length N] [--temperature T] [--top-k K] [--seed S]`
#include <iostream>

#include "cajal/cli/args.h"
#include "cajal/cli/commands.h"
#include "cajal/cli/model_file.h"
#include "cajal/data/text.h"
#include "cajal/models/generate.h"

namespace cajal::cli {

int generate_command(const std::vector<std::string>& argv) {
  Args args = parse_args(argv, "generate", {"--prompt", "--length", "--temperature", "--top-k", "--seed"});
  if (args.positional.size() != 1) fail<UsageError>("cajal generate: expected one model file or run folder");
  auto prompt = args.value("--prompt");
  if (!prompt || prompt->empty()) fail<UsageError>("cajal generate: --prompt TEXT is required (at least one character)");
  models::SamplingOptions options;
  options.length = int_option(args, "generate", "--length", 200, 0);
  options.top_k = int_option(args, "generate", "--top-k", 0, 0);
  const int64_t seed = int_option(args, "generate", "--seed", 0, 0);
  if (auto text = args.value("--temperature")) {
    auto value = models::parse_float(*text);
    if (!value || !(*value >= 0)) fail<UsageError>("cajal generate: --temperature must be a number >= 0, got '", *text, "'");
    options.temperature = *value;
  }

  LoadedModel model = load_model(args.positional[0]);
  if (!model.info.input.per_step || model.info.class_names.empty()) {
    fail<ValueError>(model.path, ": not a language model (`cajal generate` needs a model trained on data.reader: text, "
                     "e.g. examples/char_lstm.yaml)");
  }
  data::CharVocabulary vocab = data::CharVocabulary::from_names(model.info.class_names);
  Tensor tokens = vocab.encode(data::decode_utf8(*prompt, "--prompt"), "--prompt");
  options.context = model.info.input.shape[0];  // the length the model was trained on
  Generator gen(static_cast<uint64_t>(seed));
  Tensor generated = models::generate_tokens(*model.module, tokens, options, gen);
  std::cout << *prompt << vocab.decode(generated) << std::endl;
  return 0;
}

}  // namespace cajal::cli
