#include <cstdio>
#include <exception>
#include <iostream>

#include "cajal/cli/args.h"
#include "cajal/cli/commands.h"
#include "cajal/core/error.h"
#include "cajal/models/suggest.h"

namespace cajal::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {"train", "train a model from a YAML config",
       "usage: cajal train CONFIG.yaml [--set KEY=VALUE ...] [--resume RUN/last.ckpt] [--output DIR]\n"
       "\n"
       "Trains the model that CONFIG.yaml describes (see examples/fashion_mnist_cnn.yaml) and\n"
       "writes the run folder (the config's `output`, default runs/<config name>):\n"
       "  model.safetensors   weights and what `cajal predict` needs (classes, normalization)\n"
       "  last.ckpt, best.ckpt checkpoints to resume from (--resume RUN/last.ckpt)\n"
       "  metrics.csv         one row per epoch\n"
       "  events.out.tfevents.*  TensorBoard logs (tensorboard --logdir RUN)\n"
       "  report.html         charts, confusion matrix, ROC curve (two classes), misclassified\n"
       "                      test examples\n"
       "  config.yaml         the config as run (overrides applied)\n"
       "and prints the test accuracy when the config has a test split. A config with task: vae\n"
       "or task: gan trains a generative model (examples/fashion_mnist_vae.yaml, _gan.yaml):\n"
       "its folder adds samples/epoch_<N>.png, and its report shows samples and latent space.\n"
       "\n"
       "options:\n"
       "  --set KEY=VALUE   override a config value, e.g. --set optimizer.lr=0.01 --set epochs=3\n"
       "                    (checked like the file: types and key names)\n"
       "  --resume CKPT     continue a run from its checkpoint, exactly where it stopped\n"
       "  --output DIR      the run folder (same as --set output=DIR)\n",
       train_command},
      {"eval", "evaluate a trained model on labelled data",
       "usage: cajal eval MODEL_OR_RUN [--data CONFIG.yaml|PATH] [--labels PATH] [--label-column NAME]\n"
       "       cajal eval GAN_RUN [--samples FILE.npy [--sample-labels FILE.npy]]\n"
       "\n"
       "Prints accuracy, log loss, ROC AUC (two classes; more: one-vs-rest, macro average),\n"
       "macro precision/recall/F1 and each class's scores by name (classification), or MSE,\n"
       "RMSE, MAE and R^2 (regression), of MODEL (a model.safetensors file, a run folder, or an\n"
       "ONNX model: MODEL.onnx) on:\n"
       "  no --data           the run's own test split (RUN/config.yaml)\n"
       "  --data CONFIG.yaml  that config's test split (or its train split without one)\n"
       "  --data TABLE.csv    a CSV table with a label column (--label-column, default the last)\n"
       "  --data FOLDER       an image folder, one sub-folder per class\n"
       "  --data FILE --labels FILE   IDX files (images and labels) or two .npy files\n"
       "A generative run (task: vae or gan) is judged on its own test split instead: a VAE's\n"
       "negative ELBO and importance-weighted -log p(x) in nats per image; a GAN's Frechet\n"
       "distance to the test images in its fixed classifier's features, the class entropy of its\n"
       "samples and, conditional, how often the classifier agrees with the requested class.\n"
       "  --samples FILE.npy [--sample-labels FILE.npy]   judge these images [N, C, H, W] in\n"
       "                      [0, 1] (e.g. another framework's) by the GAN run's classifier\n",
       eval_command},
      {"predict", "predict labels and probabilities for new inputs",
       "usage: cajal predict MODEL_OR_RUN --input PATH [--output OUT.csv|OUT.json] [--label-column NAME]\n"
       "\n"
       "PATH: an image (PNG, JPEG, BMP), a folder of images, a CSV table of features (a label\n"
       "column, if present, is ignored), a .npy file or an IDX file of inputs. Inputs are\n"
       "prepared as in training (resized, normalized). Writes one row per input: its name, the\n"
       "predicted label and each class's probability (CSV, or JSON for a .json name; without\n"
       "--output, CSV on stdout). MODEL may be an ONNX model (MODEL.onnx): its graph gives the\n"
       "input shape; inputs go in unnormalized, as `cajal export` bakes normalization in.\n",
       predict_command},
      {"info", "show a model file's architecture, parameters and metrics",
       "usage: cajal info MODEL_OR_RUN\n"
       "\n"
       "Prints the model's configuration, input shape, classes, normalization, architecture\n"
       "(as PyTorch prints it), parameter counts and the metrics recorded when it was trained.\n",
       info_command},
      {"generate", "sample text from a character-level language model",
       "usage: cajal generate MODEL_OR_RUN --prompt TEXT [--length N] [--temperature T] [--top-k K] [--seed S]\n"
       "\n"
       "Continues TEXT with N characters (default 200) from a language model trained on\n"
       "data.reader: text (e.g. examples/char_lstm.yaml) and prints the prompt and its continuation.\n"
       "Each character is drawn from the model's softmax over its vocabulary given the text so far\n"
       "(at most the training seq_len last characters):\n"
       "  --temperature T   divides the scores first (default 1): below 1 sharper, above 1 more\n"
       "                    varied; 0 always takes the most likely character (greedy)\n"
       "  --top-k K         draws among the K most likely characters only (default 0: all)\n"
       "  --seed S          the random draws (default 0): the same seed gives the same text\n"
       "Every character of TEXT must be in the model's vocabulary.\n",
       generate_command},
      {"sample", "draw images from a trained VAE or GAN",
       "usage: cajal sample RUN [--count N] [--class K] [--seed S] [--columns C] [--output FILE.png]\n"
       "\n"
       "Draws N images (default 64) from a generative run (task: vae or task: gan; e.g.\n"
       "examples/fashion_mnist_gan.yaml) and writes them as one grid, C images a row\n"
       "(default 8), to FILE.png (default samples.png):\n"
       "  --class K   a class-conditional model draws class K only (an index or a class name);\n"
       "              without it, every class in turn, one column each\n"
       "  --seed S    the random draws (default 0): the same seed gives the same images\n",
       sample_command},
      {"export", "export a trained model as an ONNX file for other runtimes",
       "usage: cajal export MODEL_OR_RUN [--format onnx] [--output FILE] [--opset N]\n"
       "\n"
       "Writes the model as ONNX (default RUN/model.onnx, beside the weights) for ONNX Runtime\n"
       "and other servers. The graph takes the inputs `cajal predict` reads (input 'input',\n"
       "float32 images scaled to [0, 1] or feature rows; int64 token ids for a language model),\n"
       "applies the normalization of training, and gives what predict prints: 'probabilities'\n"
       "for a classifier, 'predictions' for regression, per-step 'logits' for a language\n"
       "model. The batch (dim 0) is dynamic.\n"
       "  --opset N   the ONNX operator set, 13 to 17 (default 17)\n",
       export_command},
      {"prune", "prune a trained run's weights or channels and fine-tune it",
       "usage: cajal prune RUN --sparsity S [--structured] [--scope global|layer]\n"
       "                   [--schedule one_shot|polynomial] [--epochs N] [--set KEY=VALUE ...] [--output DIR]\n"
       "\n"
       "Trains a pruned copy of RUN with RUN's own config (its data, optimizer and schedule),\n"
       "starting from RUN's weights, for N epochs (default 2), into DIR (default RUN_pruned,\n"
       "or RUN_channels when structured): `cajal train RUN/config.yaml` with init_from RUN and\n"
       "a prune section (README, \"Compression\"); --set changes the rest, e.g.\n"
       "--set optimizer.lr=0.0005.\n"
       "  --sparsity S   the fraction to remove, in [0, 1): 0.8 prunes 80%\n"
       "  --structured   remove whole convolution channels / linear units by L1 norm: the\n"
       "                 layers and the ones after them shrink (a chain of layers only)\n"
       "  --scope        unstructured: global (all weights ranked together, default) or layer\n"
       "  --schedule     unstructured: one_shot (default) or polynomial (sparsity rising over\n"
       "                 the first 75% of the steps; Zhu & Gupta 2017)\n",
       prune_command},
      {"quantize", "quantize a trained run's model to int8 for fast inference",
       "usage: cajal quantize RUN [--calibration N] [--method minmax|percentile|mse] [--percentile P]\n"
       "                      [--output FILE]\n"
       "       cajal quantize RUN --qat-epochs N [--set KEY=VALUE ...] [--output DIR]\n"
       "\n"
       "Writes RUN/model_int8.safetensors (or FILE): the model with int8 weights (per output\n"
       "channel) and uint8 activations (per tensor), batch norms folded and ReLUs fused, about\n"
       "a quarter of the float file's size; `cajal eval` and `cajal predict` run it. Prints the\n"
       "test accuracy of both models. Chains of layers (mlp, lenet5, cnn, layers:) only.\n"
       "  --calibration N  training examples whose activations set the ranges (default 1000)\n"
       "  --method         how a range is set from them: minmax (default), percentile (the\n"
       "                   P and 100 - P percentiles, --percentile, default 99.99) or mse (the\n"
       "                   range whose rounding error is least)\n"
       "  --calibration-out FILE.npy  also write the calibration inputs (normalized), for a\n"
       "                   side-by-side comparison (bench/quantize_twin.py)\n"
       "  --qat-epochs N   quantization-aware training instead: N epochs of RUN's own training\n"
       "                   with int8 rounding simulated (ranges learned, not calibrated), from\n"
       "                   RUN's weights, into RUN_qat (or --output DIR); --set changes its\n"
       "                   settings, e.g. --set optimizer.lr=0.0003\n",
       quantize_command},
      {"explain", "explain a model's predictions: attributions, Grad-CAM, rules",
       "usage: cajal explain MODEL_OR_RUN --input PATH --method METHOD [--target CLASS] [--output DIR]\n"
       "                     [--steps N] [--quadrature Q] [--layer PATH] [--window K] [--samples N]\n"
       "                     [--depth D] [--min-leaf N] [--fit-data TABLE.csv] [--limit N]\n"
       "\n"
       "Why does the model predict what it predicts? METHOD:\n"
       "  saliency              |gradient| of the class score in each input value\n"
       "  smoothgrad            the gradient averaged over --samples noisy copies (default 50)\n"
       "  integrated_gradients  Integrated Gradients from a black image (a table: the mean row),\n"
       "                        --steps points (default 64) of --quadrature (gauss_legendre, or\n"
       "                        riemann_left/right/middle/trapezoid); prints how far the\n"
       "                        attributions' sum is from the score difference (completeness)\n"
       "  occlusion             the score's drop when a --window K square (default: a seventh of\n"
       "                        the image) is blanked, sliding by K/2\n"
       "  gradcam               Grad-CAM on --layer (default: the last convolutional block's\n"
       "                        output before pooling)\n"
       "  rules                 a decision tree of --depth (default 4), leaves of at least --min-leaf\n"
       "                        rows (default 1% of them), fitted to the model's predictions on the\n"
       "                        run's training table (or --fit-data), as if-then rules with their\n"
       "                        coverage, and its fidelity and accuracy on PATH (a labelled table)\n"
       "PATH: an image, a folder of images, .npy / IDX inputs, or a CSV table (rules: labelled).\n"
       "The class explained is --target (a name or index), else each input's predicted class.\n"
       "Writes DIR (default RUN/explain-METHOD): a heat map overlaid on each input (at most --limit,\n"
       "default 16) as <input>_<method>.png, attributions.csv for tables, rules.txt, and\n"
       "explain.html, which shows them.\n",
       explain_command},
      {"audit", "audit a binary classifier's fairness across groups",
       "usage: cajal audit MODEL_OR_RUN --sensitive COLUMN [--data TABLE.csv] [--mitigate thresholds]\n"
       "                   [--constraint equalized_odds|equal_opportunity] [--fit-data TABLE.csv]\n"
       "                   [--positive CLASS] [--bootstrap N] [--seed S] [--output DIR]\n"
       "\n"
       "Compares the groups of COLUMN (a column of the table, any text) on TABLE (default: the\n"
       "run's test table): each group's size, base rate, selection rate, true and false positive\n"
       "rates, accuracy, calibration, Brier score and ROC curve, and the gaps between groups\n"
       "(demographic parity difference and ratio, equalized odds and equal opportunity\n"
       "differences, Fairlearn's definitions) with --bootstrap (default 1000) resample intervals.\n"
       "The favourable outcome is class 1 of the model, or --positive.\n"
       "  --mitigate thresholds   per-group decision thresholds (Hardt et al. 2016) fitted on\n"
       "                          --fit-data (default: the run's training table) for --constraint\n"
       "                          (default equalized_odds), then the same audit and the accuracy cost\n"
       "Reweighing (Kamiran and Calders) happens in training: data.reweigh: COLUMN.\n"
       "Writes DIR/audit.html (default RUN/audit): the tables, per-group bars, ROC and calibration curves.\n",
       audit_command},
  };
  return list;
}

namespace {

void print_usage(std::ostream& out) {
  out << "usage: cajal COMMAND [ARGS...]\n\ncommands:\n";
  for (const Command& command : commands()) {
    char line[120];
    std::snprintf(line, sizeof line, "  %-9s %s\n", command.name, command.summary);
    out << line;
  }
  out << "\n`cajal COMMAND --help` describes a command.\n";
}

// Runs the command named in argv[0]; errors propagate.
int dispatch(const std::vector<std::string>& argv) {
  if (argv.empty()) {
    print_usage(std::cerr);
    return 2;
  }
  if (argv[0] == "--help" || argv[0] == "-h" || argv[0] == "help") {
    print_usage(std::cout);
    return 0;
  }
  std::vector<std::string> names;
  for (const Command& command : commands()) {
    names.push_back(command.name);
    if (argv[0] != command.name) continue;
    std::vector<std::string> rest(argv.begin() + 1, argv.end());
    for (const std::string& word : rest) {
      if (word == "--help" || word == "-h") {
        std::cout << command.help;
        return 0;
      }
    }
    return command.run(rest);
  }
  fail<UsageError>("unknown command '", argv[0], "'", models::suggest(argv[0], names), " (cajal --help lists them)");
}

// An error message as one line for a terminal: control bytes (an ESC from a file name or a
// file's contents would drive the terminal; a newline would split the line) written as \xNN.
std::string printable(const std::string& message) {
  std::string out;
  for (unsigned char c : message) {
    if (c >= 0x20 && c != 0x7f) {
      out += static_cast<char>(c);
    } else {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      out += escaped;
    }
  }
  return out;
}

}  // namespace

int run_cli(const std::vector<std::string>& argv) {
  try {
    return dispatch(argv);
  } catch (const UsageError& e) {
    std::cerr << "cajal: error: " << printable(e.what()) << "\n";
    return 2;
  } catch (const Error& e) {
    std::cerr << "cajal: error: " << printable(e.what()) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "cajal: error: " << printable(e.what()) << "\n";
    return 1;
  }
}

}  // namespace cajal::cli
