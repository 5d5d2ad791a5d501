// report.html of a generative run: cli/generative_run.h.
#include <filesystem>

#include "cajal/autograd/grad_mode.h"
#include "cajal/cli/generative_eval.h"
#include "cajal/cli/generative_run.h"
#include "cajal/core/generator.h"
#include "cajal/data/image.h"
#include "cajal/io/report.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/random.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/shape.h"

namespace cajal::cli {

namespace {

constexpr int64_t kWalkSteps = 10;
constexpr int64_t kWalks = 4;
constexpr int64_t kMapPoints = 2000;

ReportImage report_image(const Tensor& chw, std::string caption) {
  return {.height = chw.size(1), .width = chw.size(2), .channels = chw.size(0), .pixels = data::to_hwc_bytes(chw),
          .caption = std::move(caption)};
}

// Reads a PNG grid written during training back as a tensor, through the library's decoder.
std::optional<ReportImage> epoch_grid(const std::string& path, int64_t epoch, int64_t channels) {
  if (!std::filesystem::exists(path)) return std::nullopt;
  return report_image(data::read_image(path, channels), "epoch " + std::to_string(epoch));
}

// kWalks rows of kWalkSteps images: decodes of points on the line between two latent codes.
// VAE: the posterior means of pairs of test images; GAN: two noise vectors (same class).
Tensor latent_walks(const GenerativeModel& model, const data::Batch& test, uint64_t seed) {
  NoGradGuard no_grad;
  model.module->eval();
  Generator gen(seed);
  TensorList rows;
  for (int64_t w = 0; w < kWalks; ++w) {
    Tensor from, to, labels;
    if (model.vae) {
      const int64_t a = (2 * w) % test.input.size(0), b = (2 * w + 1) % test.input.size(0);
      Tensor pair = cat({test.input.narrow(0, a, 1), test.input.narrow(0, b, 1)}, 0);
      if (model.config.conditional) labels = cat({test.target.narrow(0, a, 1), test.target.narrow(0, a, 1)}, 0);
      Tensor means = model.vae->encode(pair, labels).mean;
      from = means.narrow(0, 0, 1);
      to = means.narrow(0, 1, 1);
    } else {
      from = randn({1, model.config.latent}, {}, &gen);
      to = randn({1, model.config.latent}, {}, &gen);
    }
    Tensor t = arange(0, kWalkSteps, 1, DType::f32).reshape({kWalkSteps, 1}) / static_cast<double>(kWalkSteps - 1);
    Tensor z = from * (1.0 - t) + to * t;
    Tensor step_labels;
    if (model.config.conditional) {
      const int64_t label = model.vae ? test.target[(2 * w) % test.input.size(0)].item<int64_t>() : w % model.input.num_classes;
      step_labels = full({kWalkSteps}, label, {.dtype = DType::i64});
    }
    if (model.vae) {
      Tensor decoded = model.vae->decode(z, step_labels);  // Bernoulli logits or Gaussian means
      rows.push_back(model.config.vae.likelihood == models::Likelihood::Bernoulli ? sigmoid(decoded) : clamp(decoded, 0.0, 1.0));
    } else {
      Tensor images = model.config.conditional ? model.generator->forward(z, step_labels) : model.generator->forward(z);
      rows.push_back((images + 1.0) / 2.0);
    }
  }
  return data::image_grid(cat(rows, 0), kWalkSteps);
}

}  // namespace

void write_generative_report(const GenerativeReport& report, const std::string& path) {
  const GenerativeModel& model = *report.model;
  const RunConfig& config = *report.config;
  ReportData page;
  page.title = "cajal: " + config.path;
  page.run_info = {{"config", config.path},
                   {"model", model.config.describe()},
                   {"parameters", std::to_string(model.module->num_parameters())},
                   {"epochs", std::to_string(report.history.size())},
                   {"training time", format_number(report.seconds) + " s"}};
  for (const auto& [name, value] : report.final_metrics) page.run_info.emplace_back(name, format_number(value));
  page.history = report.history;
  page.chart_metrics = model.vae ? std::vector<std::string>{"neg_elbo", "reconstruction", "kl"}
                                 : std::vector<std::string>{"loss", "score", "class_entropy"};
  for (const NamedValues& row : report.history) {
    double epoch = 0, collapse = 0, entropy = std::numeric_limits<double>::quiet_NaN(), d_loss = 0, g_loss = 0;
    for (const auto& [name, value] : row) {
      if (name == "epoch") epoch = value;
      if (name == "collapse") collapse = value;
      if (name == "class_entropy") entropy = value;
      if (name == "d_loss") d_loss = value;
      if (name == "g_loss") g_loss = value;
    }
    if (collapse == 0) continue;
    page.warnings.push_back("epoch " + format_number(epoch) + ": the GAN looks collapsed: " +
                            collapse_reason(entropy, d_loss, g_loss, model.config.loss, config.evaluation));
  }

  ReportFigure grids{.title = "Samples by epoch",
                     .description = "Drawn from the same noise after every epoch" +
                                    std::string(model.conditional_classes() > 0 ? ", one column per class." : ".")};
  for (size_t e = 0; e < report.history.size(); ++e) {
    const int64_t epoch = static_cast<int64_t>(e + 1);
    if (auto grid = epoch_grid(config.output + "/samples/epoch_" + std::to_string(epoch) + ".png", epoch, model.input.in_channels))
      grids.images.push_back(*grid);
  }
  page.figures.push_back(grids);

  if (report.test != nullptr && report.test->input.size(0) > 0) {
    const data::Batch& test = *report.test;
    NoGradGuard no_grad;
    model.module->eval();
    if (model.vae) {
      const int64_t n = std::min<int64_t>(16, test.input.size(0));
      Tensor inputs = test.input.narrow(0, 0, n);
      Tensor labels = model.config.conditional ? test.target.narrow(0, 0, n) : Tensor();
      Tensor pairs = data::image_grid(cat({inputs, model.vae->reconstruct(inputs, labels)}, 0), n);
      page.figures.push_back({.title = "Reconstructions",
                              .description = "Test images (top) and their reconstructions through the posterior mean (bottom).",
                              .images = {report_image(pairs, "inputs and reconstructions")}});
    }
    page.figures.push_back({.title = "Latent walks",
                            .description = model.vae ? "Decoded points on the line between the latent codes of two test images."
                                                     : "Generated images along the line between two noise vectors.",
                            .images = {report_image(latent_walks(model, test, config.seed), "walks")}});
    if (model.vae && model.config.vae.latent >= 2) {
      const int64_t n = std::min(kMapPoints, test.input.size(0));
      Tensor labels = test.target.narrow(0, 0, n);
      Tensor means = model.vae->encode(test.input.narrow(0, 0, n), model.config.conditional ? labels : Tensor()).mean.to(DType::f64);
      LinePlot map{.title = "Posterior means of " + std::to_string(n) + " test images", .x_label = "z[0]", .y_label = "z[1]"};
      const std::vector<double> x = means.select(1, 0).contiguous().to_vector<double>(), y = means.select(1, 1).contiguous().to_vector<double>();
      const std::vector<int64_t> classes = labels.to(DType::i64).contiguous().to_vector<int64_t>();
      for (int64_t k = 0; k < std::max<int64_t>(model.input.num_classes, 1); ++k) {
        PlotSeries series{.name = k < static_cast<int64_t>(model.class_names.size()) ? model.class_names[k] : std::to_string(k)};
        for (int64_t i = 0; i < n; ++i) {
          if (classes[i] != k) continue;
          series.x.push_back(x[i]);
          series.y.push_back(y[i]);
        }
        if (!series.x.empty()) map.series.push_back(series);
      }
      page.scatter_plots.push_back(map);
    }
  }
  write_report(page, path);
}

}  // namespace cajal::cli
