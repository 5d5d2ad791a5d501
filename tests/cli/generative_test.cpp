// Generative runs from the command line (task: vae, task: gan) on synthetic 8x8 images of
// four classes: configs and their errors (in process), then the built `cajal` program:
// train, sample, eval, resume, the report. Oracles: the classifier's own predictions and
// accuracy through `cajal predict` and `cajal eval` (another code path) for the GAN metrics
// of given images, a Fréchet distance of 0 between a set and itself, the importance-weighted
// bound below the ELBO, and bit-identical weights for a resumed run.
#include <cmath>
#include <filesystem>
#include <map>
#include <regex>
#include <sstream>

#include "cajal/cli/config.h"
#include "cajal/cli/generative_eval.h"
#include "cajal/data/image.h"
#include "cajal/data/idx.h"
#include "cajal/io/npy.h"
#include "cajal/io/safetensors.h"
#include "program.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace cajal {
namespace {

const char* kGan = R"(task: gan
data: {reader: idx, train: {inputs: train-images.idx, targets: train-labels.idx}, test: {inputs: test-images.idx, targets: test-labels.idx}}
model: {generator: {latent: 8, width: 8}, discriminator: {width: 8}, label_smoothing: 0.1, conditional: true}
optimizer: {name: adam, lr: 0.001, betas: [0.5, 0.999]}
evaluation: {classifier: classifier.yaml, samples: 300}
epochs: 2
batch_size: 32
num_workers: 0
output: runs/gan
)";

std::string config_error(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  return test::error_message<Error>([&] { cli::parse_config(yaml, "gan.yaml", overrides); });
}

TEST(GenerativeConfig, ReadsTheModelAndEvaluation) {
  cli::RunConfig cfg = cli::parse_config(kGan, "gan.yaml");
  EXPECT_EQ(cfg.task, "gan");
  EXPECT_EQ(cfg.generative.latent, 8);
  EXPECT_EQ(cfg.generative.generator_width, 8);
  EXPECT_TRUE(cfg.generative.conditional);
  EXPECT_EQ(cfg.generative.loss, models::GANLoss::NonSaturating);
  EXPECT_DOUBLE_EQ(cfg.generative.label_smoothing, 0.1);
  EXPECT_EQ(cfg.evaluation.classifier, "classifier.yaml");
  EXPECT_EQ(cfg.evaluation.samples, 300);
  EXPECT_EQ(cfg.generative.describe(), "conditional DCGAN, latent 8, width 8/8");
  cli::RunConfig vae = cli::parse_config(kGan, "vae.yaml", {"task=vae", "model={latent: 3, architecture: mlp, hidden: 20}"});
  EXPECT_EQ(vae.generative.vae.latent, 3);
  EXPECT_FALSE(vae.generative.vae.convolutional);
  EXPECT_EQ(vae.generative.vae.likelihood, models::Likelihood::Bernoulli);
  EXPECT_DOUBLE_EQ(vae.generative.kl_warmup_epochs, 1.0);
}

TEST(GenerativeConfig, ErrorsSayWhatTheTaskNeeds) {
  // A GAN config whose model is not a generator/discriminator pair.
  std::string e = config_error(kGan, {"model={preset: cnn}"});
  EXPECT_NE(e.find("task gan needs a generator/discriminator pair"), std::string::npos) << e;
  EXPECT_NE(e.find("not 'preset'"), std::string::npos) << e;
  e = config_error(kGan, {"model={generator: {latent: 8}}"});
  EXPECT_NE(e.find("task gan needs a generator/discriminator pair"), std::string::npos) << e;
  e = config_error(kGan, {"task=vae", "model={layers: [{type: linear, out: 3}]}"});
  EXPECT_NE(e.find("task vae needs a VAE"), std::string::npos) << e;
  e = config_error(kGan, {"data.normalize=true"});
  EXPECT_NE(e.find("normalize must be false for task gan"), std::string::npos) << e;
  e = config_error(kGan, {"loss=mse"});
  EXPECT_NE(e.find("'loss' is not used by task gan"), std::string::npos) << e;
  e = config_error(kGan, {"model.loss=hinge"});
  EXPECT_NE(e.find("label_smoothing"), std::string::npos) << e;
  e = config_error(kGan, {"evaluation.samples=1"});
  EXPECT_NE(e.find("samples"), std::string::npos) << e;
  e = config_error(kGan, {"model.generator.widht=3"});
  EXPECT_NE(e.find("did you mean 'width'"), std::string::npos) << e;
  e = config_error(kGan, {"task=diffusion"});
  EXPECT_NE(e.find("task"), std::string::npos) << e;
}

TEST(GenerativeCollapse, ReasonsCrossTheirThresholds) {
  const cli::EvaluationConfig evaluation;  // entropy 1.5 nats, D/G loss ratio 0.2
  EXPECT_EQ(cli::collapse_reason(2.2, 0.8, 2.0, models::GANLoss::NonSaturating, evaluation), "");
  EXPECT_NE(cli::collapse_reason(1.4, 0.8, 2.0, models::GANLoss::NonSaturating, evaluation).find("class entropy 1.400"), std::string::npos);
  EXPECT_NE(cli::collapse_reason(2.2, 0.5, 3.4, models::GANLoss::NonSaturating, evaluation).find("D loss / G loss 0.147 < 0.200"),
            std::string::npos);
  EXPECT_EQ(cli::collapse_reason(2.2, 0.5, 2.4, models::GANLoss::NonSaturating, evaluation), "");
  // The hinge loss's G loss may be negative: no ratio test there.
  EXPECT_EQ(cli::collapse_reason(2.2, 0.01, 1.0, models::GANLoss::Hinge, evaluation), "");
  // Without a classifier (NaN entropy) the loss ratio still speaks.
  EXPECT_NE(cli::collapse_reason(std::nan(""), 0.01, 1.0, models::GANLoss::NonSaturating, evaluation).find("D loss"), std::string::npos);
  EXPECT_NE(cli::collapse_reason(2.2, std::nan(""), 1.0, models::GANLoss::Hinge, evaluation).find("not finite"), std::string::npos);
}

// ------------------------------------------------------------------ the program

// The printed "name value" pairs of `cajal eval` (or the "; name value" of `cajal train`).
std::map<std::string, double> printed_metrics(const std::string& text) {
  std::map<std::string, double> out;
  std::regex pair("([a-z_]+) +(-?[0-9.]+(e[-+]?[0-9]+)?)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), pair); it != std::sregex_iterator(); ++it) out[(*it)[1]] = std::stod((*it)[2]);
  return out;
}

class GenerativeRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(test::temp_dir());
    test::write_squares(*dir_, "train", 512, 11);
    test::write_squares(*dir_, "test", 200, 12);
    test::write_text(*dir_ + "/classifier.yaml", R"(data: {reader: idx, train: {inputs: train-images.idx, targets: train-labels.idx}}
model: {preset: mlp, options: {hidden: [16]}}
optimizer: {name: adam, lr: 0.01}
epochs: 3
batch_size: 32
num_workers: 0
output: runs/classifier
)");
    test::write_text(*dir_ + "/gan.yaml", kGan);
    gan_ = new test::ProgramResult(test::cajal(*dir_, "train gan.yaml"));
  }
  static void TearDownTestSuite() {
    delete gan_;
    delete dir_;
  }
  static std::string* dir_;
  static test::ProgramResult* gan_;
};
std::string* GenerativeRun::dir_ = nullptr;
test::ProgramResult* GenerativeRun::gan_ = nullptr;

TEST_F(GenerativeRun, GanTrainsWithItsClassifierAndWritesTheRun) {
  const std::string& dir = *dir_;
  ASSERT_EQ(gan_->code, 0) << gan_->out << gan_->err;
  // The classifier was trained first (its config names a run folder with no model yet).
  EXPECT_NE(gan_->out.find("training it with `cajal train classifier.yaml`"), std::string::npos) << gan_->out;
  for (const char* file : {"model.safetensors", "classifier.safetensors", "last.ckpt", "metrics.csv", "report.html", "config.yaml",
                           "samples/epoch_1.png", "samples/epoch_2.png"})
    EXPECT_TRUE(fs::exists(dir + "/runs/gan/" + file)) << file;
  const std::string csv = test::read_file(dir + "/runs/gan/metrics.csv");
  EXPECT_TRUE(csv.starts_with("epoch,d_loss,g_loss,real_score,fake_score,class_entropy,collapse\n")) << csv;
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3);
  // The grid: 4 classes a row (one column each), 8 rows of 8x8 images with 2 pixels between.
  Tensor grid = data::read_image(dir + "/runs/gan/samples/epoch_2.png", 1);
  EXPECT_EQ(grid.sizes(), Dims({1, 8 * 10 + 2, 4 * 10 + 2}));
  // The report: loss charts, one grid per epoch, walks; no latent map for a GAN.
  const std::string html = test::read_file(dir + "/runs/gan/report.html");
  EXPECT_NE(html.find("<h2>Samples by epoch</h2>"), std::string::npos);
  EXPECT_NE(html.find("<h2>Latent walks</h2>"), std::string::npos);
  EXPECT_NE(html.find("data-series=\"d\""), std::string::npos);
  EXPECT_NE(html.find("data-series=\"g\""), std::string::npos);
  EXPECT_EQ(html.find("<h2>Latent space</h2>"), std::string::npos);
  size_t grids = 0;
  for (size_t at = 0; (at = html.find("<figcaption>epoch ", at)) != std::string::npos; ++at) ++grids;
  EXPECT_EQ(grids, 2u);

  // `cajal eval RUN` repeats the numbers training printed (same draws, same classifier).
  std::map<std::string, double> trained = printed_metrics(gan_->out.substr(gan_->out.find("trained 2 epochs")));
  test::ProgramResult eval = test::cajal(dir, "eval runs/gan");
  ASSERT_EQ(eval.code, 0) << eval.err;
  std::map<std::string, double> evaluated = printed_metrics(eval.out);
  for (const char* name : {"frechet_distance", "class_entropy", "class_agreement"}) {
    ASSERT_TRUE(trained.count(name) && evaluated.count(name)) << name << "\n" << gan_->out << eval.out;
    EXPECT_NEAR(evaluated[name], trained[name], 1e-4 * std::max(1.0, std::abs(trained[name]))) << name;
  }
  EXPECT_GE(evaluated["class_entropy"], 0.0);
  EXPECT_LE(evaluated["class_entropy"], std::log(4.0) + 1e-9);
}

TEST_F(GenerativeRun, GanMetricsOfGivenImagesMatchTheClassifiersOwnOutputs) {
  const std::string& dir = *dir_;
  ASSERT_EQ(gan_->code, 0) << gan_->err;
  // The test images themselves as "samples", with their true labels as the requested classes.
  Tensor images = data::read_idx(dir + "/test-images.idx").to(DType::f32) / 255.0;
  images = images.reshape({images.size(0), 1, 8, 8});
  Tensor labels = data::read_idx(dir + "/test-labels.idx").to(DType::i64);
  save_npy(images, dir + "/test-images.npy");
  save_npy(labels, dir + "/test-labels.npy");
  test::ProgramResult judged = test::cajal(dir, "eval runs/gan --samples test-images.npy --sample-labels test-labels.npy");
  ASSERT_EQ(judged.code, 0) << judged.err;
  std::map<std::string, double> metrics = printed_metrics(judged.out);
  // A set against itself: Fréchet distance 0 (up to the matrix square root's rounding).
  EXPECT_NEAR(metrics["frechet_distance"], 0.0, 1e-3) << judged.out;
  // Agreement with the true labels is the classifier's accuracy, as `cajal eval` of the classifier prints it.
  test::ProgramResult accuracy = test::cajal(dir, "eval runs/gan/classifier.safetensors --data test-images.idx --labels test-labels.idx");
  ASSERT_EQ(accuracy.code, 0) << accuracy.err;
  EXPECT_NEAR(metrics["class_agreement"], printed_metrics(accuracy.out)["accuracy"], 5e-5) << judged.out << accuracy.out;
  // The entropy of the classes `cajal predict` gives the images.
  test::ProgramResult predicted = test::cajal(dir, "predict runs/gan/classifier.safetensors --input test-images.idx");
  ASSERT_EQ(predicted.code, 0) << predicted.err;
  std::map<std::string, int> counts;
  std::istringstream rows(predicted.out);
  std::string row;
  std::getline(rows, row);  // header
  int n = 0;
  while (std::getline(rows, row)) {
    std::istringstream cells(row);
    std::string name, label;
    std::getline(cells, name, ',');
    std::getline(cells, label, ',');
    ++counts[label];
    ++n;
  }
  ASSERT_EQ(n, 200);
  double entropy = 0;
  for (const auto& [label, count] : counts) entropy -= count / 200.0 * std::log(count / 200.0);
  EXPECT_NEAR(metrics["class_entropy"], entropy, 5e-5) << judged.out;
}

TEST_F(GenerativeRun, SampleDrawsAClassOrEveryClass) {
  const std::string& dir = *dir_;
  ASSERT_EQ(gan_->code, 0) << gan_->err;
  test::ProgramResult one = test::cajal(dir, "sample runs/gan --count 6 --class 2 --seed 3 --output two.png");
  ASSERT_EQ(one.code, 0) << one.err;
  EXPECT_EQ(data::read_image(dir + "/two.png", 1).sizes(), Dims({1, 12, 6 * 10 + 2}));
  // The same seed draws the same images; another class draws others.
  ASSERT_EQ(test::cajal(dir, "sample runs/gan --count 6 --class 2 --seed 3 --output again.png").code, 0);
  ASSERT_EQ(test::cajal(dir, "sample runs/gan --count 6 --class 0 --seed 3 --output zero.png").code, 0);
  EXPECT_EQ(test::read_file(dir + "/two.png"), test::read_file(dir + "/again.png"));
  EXPECT_NE(test::read_file(dir + "/two.png"), test::read_file(dir + "/zero.png"));
  // Without --class: every class in turn, one column each.
  ASSERT_EQ(test::cajal(dir, "sample runs/gan --count 8 --output all.png").code, 0);
  EXPECT_EQ(data::read_image(dir + "/all.png", 1).sizes(), Dims({1, 2 * 10 + 2, 4 * 10 + 2}));
}

TEST_F(GenerativeRun, BadInputIsOneClearLine) {
  const std::string& dir = *dir_;
  ASSERT_EQ(gan_->code, 0) << gan_->err;
  test::expect_failure(test::cajal(dir, "sample runs/gan --class 4"), 2, {"--class 4 is out of range", "4 classes, 0 to 3"});
  test::expect_failure(test::cajal(dir, "sample runs/gan --class -1"), 2, {"--class -1 is out of range"});
  test::expect_failure(test::cajal(dir, "sample runs/gan --count 0"), 2, {"--count must be an integer >= 1"});
  test::expect_failure(test::cajal(dir, "sample runs/classifier"), 1, {"a classification model, not a generative one", "task: gan"});
  test::expect_failure(test::cajal(dir, "predict runs/gan --input test-images.idx"), 1, {"a generative model", "cajal sample"});
  test::expect_failure(test::cajal(dir, "eval runs/gan --data test-images.idx"), 2, {"--data is for classifiers"});
  test::expect_failure(test::cajal(dir, "eval runs/classifier --samples x.npy"), 2, {"--samples is for GAN runs"});
  test::expect_failure(test::cajal(dir, "train gan.yaml --set 'model={preset: cnn}' --set output=runs/bad"), 1,
                       {"gan.yaml", "task gan needs a generator/discriminator pair"});
}

TEST_F(GenerativeRun, ResumedGanEndsBitIdentical) {
  const std::string& dir = *dir_;
  ASSERT_EQ(gan_->code, 0) << gan_->err;
  ASSERT_EQ(test::cajal(dir, "train gan.yaml --set epochs=1 --output runs/resumed").code, 0);
  test::ProgramResult resumed = test::cajal(dir, "train gan.yaml --output runs/resumed --resume runs/resumed/last.ckpt");
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  NamedTensors straight = load_safetensors(dir + "/runs/gan/model.safetensors");
  NamedTensors continued = load_safetensors(dir + "/runs/resumed/model.safetensors");
  ASSERT_EQ(straight.size(), continued.size());
  for (size_t i = 0; i < straight.size(); ++i) {
    EXPECT_EQ(straight[i].first, continued[i].first);
    EXPECT_EQ(straight[i].second.to(DType::f64).contiguous().to_vector<double>(),
              continued[i].second.to(DType::f64).contiguous().to_vector<double>())
        << straight[i].first;
  }
  EXPECT_EQ(test::read_file(dir + "/runs/gan/metrics.csv"), test::read_file(dir + "/runs/resumed/metrics.csv"));
}

TEST_F(GenerativeRun, VaeTrainsWithTheBoundBelowItsElboAndMapsItsLatentSpace) {
  const std::string& dir = *dir_;
  test::ProgramResult vae = test::cajal(dir, "train gan.yaml --set task=vae --set 'model={latent: 2, conditional: true}' --set "
                                             "'evaluation={importance_samples: 50}' --set epochs=3 --output runs/vae");
  ASSERT_EQ(vae.code, 0) << vae.out << vae.err;
  std::map<std::string, double> trained = printed_metrics(vae.out.substr(vae.out.find("trained 3 epochs")));
  ASSERT_TRUE(trained.count("test_neg_elbo") && trained.count("test_iw_nll")) << vae.out;
  // 8x8 pixels: -log p(x) is at most 64 log 2 nats for a model that learned anything at all.
  EXPECT_LT(trained["test_neg_elbo"], 64 * std::log(2.0)) << vae.out;
  EXPECT_LT(trained["test_iw_nll"], trained["test_neg_elbo"]) << vae.out;
  const std::string csv = test::read_file(dir + "/runs/vae/metrics.csv");
  EXPECT_TRUE(csv.starts_with("epoch,loss,reconstruction,kl,neg_elbo,beta,test_neg_elbo\n")) << csv;
  const std::string html = test::read_file(dir + "/runs/vae/report.html");
  for (const char* section : {"<h2>Samples by epoch</h2>", "<h2>Reconstructions</h2>", "<h2>Latent walks</h2>", "<h2>Latent space</h2>"})
    EXPECT_NE(html.find(section), std::string::npos) << section;
  size_t dots = 0;
  for (size_t at = 0; (at = html.find("<circle class=\"point\"", at)) != std::string::npos; ++at) ++dots;
  EXPECT_EQ(dots, 200u);  // every test image on the latent map
  test::ProgramResult eval = test::cajal(dir, "eval runs/vae");
  ASSERT_EQ(eval.code, 0) << eval.err;
  std::map<std::string, double> evaluated = printed_metrics(eval.out);
  EXPECT_NEAR(evaluated["test_neg_elbo"], trained["test_neg_elbo"], 1e-3);
  EXPECT_NEAR(evaluated["test_iw_nll"], trained["test_iw_nll"], 1e-3);
  test::ProgramResult sample = test::cajal(dir, "sample runs/vae --count 4 --class 3 --output vae.png");
  ASSERT_EQ(sample.code, 0) << sample.err;
  // `cajal info` describes a generative run as any model file.
  test::ProgramResult info = test::cajal(dir, "info runs/vae");
  ASSERT_EQ(info.code, 0) << info.err;
  EXPECT_NE(info.out.find("task        vae\n"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("VAE("), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("test_iw_nll"), std::string::npos) << info.out;
}

}  // namespace
}  // namespace cajal
