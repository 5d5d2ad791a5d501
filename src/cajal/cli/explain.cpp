// `cajal explain RUN --input PATH --method METHOD`: attributions (explain/attribution.h)
// drawn as heat maps over the inputs, or a decision-tree surrogate's rules
// (explain/surrogate.h), written beside an explain.html page.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "cajal/autograd/grad_mode.h"
#include "cajal/cli/args.h"
#include "cajal/cli/commands.h"
#include "cajal/cli/data_config.h"
#include "cajal/cli/inputs.h"
#include "cajal/explain/attribution.h"
#include "cajal/explain/surrogate.h"
#include "cajal/io/atomic_file.h"
#include "cajal/io/png.h"
#include "cajal/io/report.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/reduce.h"
#include "cajal/ops/shape.h"

namespace fs = std::filesystem;

namespace cajal::cli {

namespace {

const std::vector<std::string> kMethods = {"saliency", "smoothgrad", "integrated_gradients", "occlusion", "gradcam", "rules"};

std::string fixed(double value, int decimals = 3) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

// The class --target names (a class name or an index), or -1 when not given.
int64_t target_class(const ModelInfo& info, const std::optional<std::string>& target) {
  if (!target) return -1;
  for (int64_t k = 0; k < info.input.num_classes; ++k)
    if (class_name(info, k) == *target || std::to_string(k) == *target) return k;
  fail<UsageError>("cajal explain: --target ", *target, " is not one of the model's ", info.input.num_classes,
                   " classes (a class name or an index 0 to ", info.input.num_classes - 1, ")");
}

// Jet-like colours from blue (0) through cyan, yellow to red (1), for heat maps.
std::array<double, 3> heat_rgb(double t) {
  t = std::clamp(t, 0.0, 1.0);
  return {std::clamp(1.5 - std::abs(4 * t - 3), 0.0, 1.0), std::clamp(1.5 - std::abs(4 * t - 2), 0.0, 1.0),
          std::clamp(1.5 - std::abs(4 * t - 1), 0.0, 1.0)};
}

// An image [C, H, W] in [0, 1] with `heat` [H, W] in [0, 1] laid over it (stronger where the
// heat is higher, so the input stays visible where attributions are small), as RGB bytes
// (HWC) scaled up `scale` times by pixel repetition.
std::vector<uint8_t> overlay(const Tensor& image, const Tensor& heat, int64_t scale, bool with_heat) {
  const int64_t channels = image.size(0), height = image.size(1), width = image.size(2);
  const std::vector<double> pixels = image.contiguous().to_vector<double>(), values = heat.contiguous().to_vector<double>();
  std::vector<uint8_t> out(static_cast<size_t>(height * scale * width * scale * 3));
  for (int64_t y = 0; y < height * scale; ++y) {
    for (int64_t x = 0; x < width * scale; ++x) {
      const int64_t at = (y / scale) * width + x / scale;
      const double t = with_heat ? values[static_cast<size_t>(at)] : 0;
      const std::array<double, 3> colour = heat_rgb(t);
      for (int64_t c = 0; c < 3; ++c) {
        const double base = std::clamp(pixels[static_cast<size_t>((channels == 3 ? c : 0) * height * width + at)], 0.0, 1.0);
        const double mixed = (1 - 0.7 * t) * base + 0.7 * t * colour[static_cast<size_t>(c)];
        out[static_cast<size_t>((y * width * scale + x) * 3 + c)] = static_cast<uint8_t>(std::lround(255 * mixed));
      }
    }
  }
  return out;
}

// A per-pixel map [H, W] of attributions [C, H, W]: their absolute values summed over the
// channels, divided by the 99th percentile (Captum's visualization clips the top 1-2%).
Tensor pixel_map(const Tensor& attributions) {
  Tensor map = attributions.abs().sum({0}).to(DType::f64);
  std::vector<double> sorted = map.contiguous().to_vector<double>();
  std::sort(sorted.begin(), sorted.end());
  const double top = sorted[static_cast<size_t>(0.99 * static_cast<double>(sorted.size() - 1))];
  return top > 0 ? clamp(map / top, 0.0, 1.0) : map;
}

struct Explained {
  Tensor attributions;  // the inputs' shape (Grad-CAM: [B, H, W])
  std::string note;     // a line for the page and stdout (IG's completeness)
};

Explained attribute(const std::string& method, nn::Module& module, const ModelInfo& info, const Tensor& inputs,
                    const Tensor& targets, const Args& args) {
  explain::ModelFunction f = [&](const Tensor& x) { return module.forward(x); };
  if (method == "saliency") return {explain::saliency(f, inputs, targets), ""};
  if (method == "smoothgrad")
    return {explain::smoothgrad(f, inputs, targets, {.samples = int_option(args, "explain", "--samples", 50, 1)}), ""};
  if (method == "integrated_gradients") {
    // The baseline: a black image (0 before normalization) for images, else the zero row
    // (the training mean when the run normalized its features).
    Tensor baseline = zeros(Dims(inputs.sizes().begin() + 1, inputs.sizes().end()));
    if (info.input.shape.size() == 3 && !info.mean.empty()) baseline = normalize_batch(baseline.unsqueeze(0), info.mean, info.std)[0];
    const explain::Quadrature quadrature = explain::parse_quadrature(args.value("--quadrature").value_or("gauss_legendre"));
    auto result = explain::integrated_gradients(f, inputs, targets,
                                                {.steps = int_option(args, "explain", "--steps", 64, 1),
                                                 .quadrature = quadrature, .baseline = baseline, .points_per_batch = 16});
    Tensor gap;
    {
      NoGradGuard no_grad;
      gap = explain::target_scores(f(inputs), targets) - explain::target_scores(f(baseline.unsqueeze(0).expand(inputs.sizes())), targets);
    }
    Tensor relative = result.delta.abs() / (gap.abs() + 1e-12);
    return {result.attributions, "Integrated Gradients completeness: the attributions sum to f(x) - f(baseline) within " +
                                     fixed(100 * relative.mean().item(), 2) + "% on average, " +
                                     fixed(100 * relative.max().item(), 2) + "% at worst (" + explain::quadrature_name(quadrature) + ")"};
  }
  if (method == "occlusion") {
    if (info.input.shape.size() != 3) return {explain::occlusion(f, inputs, targets, {.window = {1}, .strides = {1}}), ""};
    const int64_t side = std::min(info.input.shape[1], info.input.shape[2]);
    const int64_t window = int_option(args, "explain", "--window", std::max<int64_t>(2, side / 7), 1);
    const int64_t stride = std::max<int64_t>(1, window / 2);
    return {explain::occlusion(f, inputs, targets, {.window = {info.input.shape[0], window, window},
                                                    .strides = {info.input.shape[0], stride, stride}}),
            "occlusion window " + std::to_string(window) + " x " + std::to_string(window) + ", stride " + std::to_string(stride)};
  }
  // gradcam
  std::string layer = args.value("--layer").value_or("");
  if (layer.empty()) layer = explain::last_feature_map_layer(module, inputs.narrow(0, 0, 1));
  return {explain::grad_cam(module, layer, inputs, targets).heatmap, "Grad-CAM on layer " + layer};
}

// The run's raw images (normalization undone) [N, C, H, W] for drawing.
Tensor displayable(const ModelInfo& info, const Tensor& inputs) {
  if (info.mean.empty()) return inputs;
  Tensor out = inputs.clone();
  const int64_t channels = inputs.size(1);
  for (int64_t c = 0; c < channels; ++c) {
    const size_t k = info.mean.size() == 1 ? 0 : static_cast<size_t>(c);
    Tensor plane = out.select(1, c);
    plane.copy_(plane * info.std[k] + info.mean[k]);
  }
  return out;
}

void write_png_file(const std::vector<uint8_t>& rgb, int64_t height, int64_t width, const std::string& path) {
  const std::string png = encode_png(rgb, height, width, 3);
  write_file_atomically(path, {std::span<const char>(png.data(), png.size())}, "cajal explain");
}

std::string file_stem(const std::string& name) {
  std::string stem = fs::path(name).stem().string();
  for (char& c : stem)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  return stem.empty() ? "input" : stem;
}

int explain_rules(const LoadedModel& model, const std::string& input, const Args& args, const std::string& output) {
  const ModelInfo& info = model.info;
  if (info.input.shape.size() != 1) fail<ValueError>("cajal explain --method rules: the model takes ", info.input.shape,
                                                    " inputs; rules describe models of tables (feature vectors)");
  LabelledTable eval = read_labelled_table(model, input);
  const std::string fit_path = args.value("--fit-data").value_or(run_table_path(model, "train", "explain", "--fit-data"));
  LabelledTable fit = read_labelled_table(model, fit_path);
  const int64_t depth = int_option(args, "explain", "--depth", 4, 1);
  // A rule must cover at least 1% of the fitting rows by default: a leaf of one or two rows
  // is not an explanation anyone reads, and it generalizes worst.
  const auto one_percent = static_cast<int64_t>(std::ceil(0.01 * static_cast<double>(fit.labels.size(0))));
  const int64_t min_leaf = int_option(args, "explain", "--min-leaf", std::max<int64_t>(1, one_percent), 1);
  auto predict = [&](const Tensor& normalized) { return argmax(run_model(*model.module, normalized), 1); };
  explain::SurrogateReport report =
      explain::fit_surrogate(fit.features, predict(fit.inputs), eval.features, predict(eval.inputs), eval.labels,
                             info.input.num_classes, {.max_depth = depth, .min_samples_leaf = min_leaf});
  std::vector<std::string> classes;
  for (int64_t k = 0; k < info.input.num_classes; ++k) classes.push_back(class_name(info, k));
  const std::string rules = explain::format_rules(report.rules, fit.feature_names, classes);
  std::ostringstream summary;
  summary << "surrogate decision tree (depth " << report.tree.depth() << ", " << report.tree.leaf_count() << " leaves of at least "
          << min_leaf << " rows) fitted to "
          << model.path << "'s predictions on " << fit_path << " (" << fit.labels.size(0) << " rows)\n"
          << "on " << input << " (" << eval.labels.size(0) << " rows): fidelity " << fixed(100 * report.fidelity, 1)
          << "% (the tree agrees with the model), accuracy " << fixed(100 * report.accuracy, 1) << "% (the model's "
          << fixed(100 * report.model_accuracy, 1) << "%)\n";
  std::cout << summary.str() << rules;
  fs::create_directories(output);
  const std::string text = summary.str() + rules;
  write_file_atomically(output + "/rules.txt", {std::span<const char>(text.data(), text.size())}, "cajal explain");

  ReportData page{.title = "cajal explanation: rules"};
  page.run_info = {{"model", model.path},
                   {"surrogate", "decision tree, depth " + std::to_string(report.tree.depth()) + ", " +
                                     std::to_string(report.tree.leaf_count()) + " leaves, fitted on " + fit_path},
                   {"fidelity", fixed(100 * report.fidelity, 1) + "% on " + input},
                   {"tree accuracy", fixed(100 * report.accuracy, 1) + "%"},
                   {"model accuracy", fixed(100 * report.model_accuracy, 1) + "%"}};
  ReportTable table{.title = "Rules",
                    .description = "Each rule is one leaf of the tree: the conditions on the way to it, the class it "
                                   "predicts, and the share of the fitting rows it covers.",
                    .columns = {"if", "then", "coverage", "confidence"}};
  for (const explain::Rule& rule : report.rules) {
    std::string line = explain::format_rules({rule}, fit.feature_names, classes);
    line = line.substr(0, line.find(" then "));
    if (line.starts_with("if ")) line = line.substr(3);
    table.rows.push_back({line, classes[static_cast<size_t>(rule.predicted_class)], fixed(100 * rule.coverage, 1) + "%",
                          fixed(100 * rule.confidence, 1) + "%"});
  }
  page.tables.push_back(table);
  write_report(page, output + "/explain.html");
  std::cerr << "cajal explain: wrote " << output << "/rules.txt and explain.html\n";
  return 0;
}

}  // namespace

int explain_command(const std::vector<std::string>& argv) {
  Args args = parse_args(argv, "explain", {"--input", "--method", "--target", "--output", "--steps", "--layer", "--window",
                                           "--samples", "--depth", "--limit", "--fit-data", "--label-column", "--quadrature", "--min-leaf"});
  if (args.positional.size() != 1) fail<UsageError>("cajal explain: expected one model file or run folder");
  const std::optional<std::string> input = args.value("--input");
  if (!input) fail<UsageError>("cajal explain: --input is required (images, a folder, a CSV table, .npy or IDX)");
  const std::string method = args.value("--method").value_or("");
  if (std::find(kMethods.begin(), kMethods.end(), method) == kMethods.end())
    fail<UsageError>("cajal explain: --method must be one of saliency, smoothgrad, integrated_gradients, occlusion, gradcam, rules",
                     method.empty() ? "" : " (got '" + method + "')");
  LoadedModel model = load_model(args.positional[0]);
  const ModelInfo& info = model.info;
  if (model.info.input.per_step) fail<ValueError>(model.path, ": a language model; cajal explain explains classifiers");
  if (!info.classification) fail<ValueError>(model.path, ": the model predicts values; cajal explain explains classifiers");
  const std::string output = args.value("--output").value_or(
      ((fs::is_directory(args.positional[0]) ? fs::path(args.positional[0]) : fs::path(".")) / ("explain-" + method)).string());
  if (method == "rules") return explain_rules(model, *input, args, output);

  // Inputs as the model takes them (a table in the run's format, with its feature names).
  std::vector<std::string> names, feature_names;
  Tensor inputs;
  if (info.input.shape.size() == 1 && fs::path(*input).extension() == ".csv") {
    LabelledTable table = read_labelled_table(model, *input);
    inputs = table.inputs;
    feature_names = table.feature_names;
    for (int64_t i = 0; i < inputs.size(0); ++i) names.push_back("row " + std::to_string(i + 1));
  } else {
    inputs = predict_inputs(model, *input, args.value("--label-column").value_or(""), names);
  }
  const int64_t limit = int_option(args, "explain", "--limit", 16, 1);
  if (inputs.size(0) > limit) {
    std::cout << "explaining the first " << limit << " of " << inputs.size(0) << " inputs (--limit)\n";
    inputs = inputs.narrow(0, 0, limit).contiguous();
    names.resize(static_cast<size_t>(limit));
  }
  model.module->eval();
  Tensor probabilities;
  {
    NoGradGuard no_grad;
    probabilities = class_probabilities(info, model.module->forward(inputs).to(DType::f64));
  }
  Tensor predicted = argmax(probabilities, 1);
  const int64_t target = target_class(info, args.value("--target"));
  Tensor targets = target >= 0 ? full({inputs.size(0)}, static_cast<double>(target), {.dtype = DType::i64}) : predicted;
  Explained explained = attribute(method, *model.module, info, inputs, targets, args);
  if (!explained.note.empty()) std::cout << explained.note << "\n";

  fs::create_directories(output);
  ReportData page{.title = "cajal explanation: " + method};
  page.run_info = {{"model", model.path}, {"method", method}, {"inputs", *input + " (" + std::to_string(inputs.size(0)) + ")"}};
  if (!explained.note.empty()) page.run_info.push_back({"note", explained.note});
  auto caption = [&](int64_t i) {
    const int64_t p = predicted[i].item<int64_t>(), t = targets[i].item<int64_t>();
    return names[static_cast<size_t>(i)] + ": predicted " + class_name(info, p) + " (" +
           fixed(100 * probabilities[i][p].item(), 0) + "%), explaining " + class_name(info, t);
  };
  if (info.input.shape.size() == 3) {
    Tensor images = displayable(info, inputs);
    const int64_t height = images.size(2), width = images.size(3), scale = std::max<int64_t>(1, 112 / std::max(height, width));
    ReportFigure figure{.title = "Inputs and their heat maps", .description = explained.note, .scale = 1};
    for (int64_t i = 0; i < inputs.size(0); ++i) {
      Tensor heat = method == "gradcam" ? explained.attributions[i].to(DType::f64) : pixel_map(explained.attributions[i]);
      if (method == "gradcam") {
        const double top = heat.max().item();
        if (top > 0) heat = heat / top;
      }
      std::vector<uint8_t> plain = overlay(images[i], heat, scale, false), heated = overlay(images[i], heat, scale, true);
      const std::string file = output + "/" + file_stem(names[static_cast<size_t>(i)]) + "_" + method + ".png";
      write_png_file(heated, height * scale, width * scale, file);
      figure.images.push_back({height * scale, width * scale, 3, plain, caption(i)});
      figure.images.push_back({height * scale, width * scale, 3, heated, method + ": " + fs::path(file).filename().string()});
    }
    page.figures.push_back(figure);
  } else {
    // Tables: attributions.csv, and bars of the features' attributions for the first inputs.
    const int64_t features = explained.attributions.size(1);
    if (feature_names.empty())
      for (int64_t k = 0; k < features; ++k) {
        char name[32];
        std::snprintf(name, sizeof name, "x%lld", static_cast<long long>(k));
        feature_names.emplace_back(name);
      }
    std::ostringstream csv;
    csv << "input,target";
    for (const std::string& name : feature_names) csv << "," << name;
    csv << "\n";
    const std::vector<double> values = explained.attributions.to(DType::f64).contiguous().to_vector<double>();
    BarChart bars{.title = method + " by feature", .y_label = "attribution", .categories = feature_names};
    for (int64_t i = 0; i < inputs.size(0); ++i) {
      csv << names[static_cast<size_t>(i)] << "," << class_name(info, targets[i].item<int64_t>());
      BarSeries series{.name = names[static_cast<size_t>(i)]};
      for (int64_t k = 0; k < features; ++k) {
        const double v = values[static_cast<size_t>(i * features + k)];
        csv << "," << v;
        series.values.push_back(v);
      }
      csv << "\n";
      if (i < 4) bars.series.push_back(series);
      std::cout << caption(i) << "\n";
    }
    const std::string text = csv.str();
    write_file_atomically(output + "/attributions.csv", {std::span<const char>(text.data(), text.size())}, "cajal explain");
    page.chart_sections.push_back({.title = "Attributions", .description = "the first inputs' attributions per feature",
                                   .bars = {bars}});
  }
  write_report(page, output + "/explain.html");
  std::cerr << "cajal explain: wrote " << output << "/explain.html\n";
  return 0;
}

}  // namespace cajal::cli
