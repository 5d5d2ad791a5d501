#pragma once
// Generative runs from the command line: `cajal train` of a `task: vae` or `task: gan`
// config, and the report and evaluation of such a run.
//
// The run folder holds what a classifier's does (model.safetensors, last.ckpt, metrics.csv,
// events.out.tfevents.*, report.html, config.yaml) plus samples/epoch_<N>.png, the grid drawn
// from the same noise after every epoch, and classifier.safetensors, the fixed classifier a
// GAN is judged by. One epoch of a VAE: for each batch, beta (warmed up) * KL + reconstruction;
// metrics loss, reconstruction, kl, beta, neg_elbo (beta 1) and test_neg_elbo. One epoch of a
// GAN: a discriminator step, then a generator step, per batch; metrics d_loss, g_loss,
// real_score and fake_score (mean D(x) and D(G(z)) as probabilities; hinge: logits), class_entropy of
// 1,000 samples and collapse (1 when collapse_reason() finds one: a warning line, and the
// report's). Checkpoints are written after every epoch; --resume continues from the next.
#include <string>

#include "cajal/cli/config.h"
#include "cajal/cli/generative_model.h"
#include "cajal/io/csv_log.h"

namespace cajal::cli {

int train_generative(const RunConfig& config, const std::string& resume);

// report.html of a generative run: facts, loss charts, the per-epoch sample grids, (VAE)
// test images beside their reconstructions, walks between latent points and the latent map
// by class, and any collapse warnings.
struct GenerativeReport {
  const RunConfig* config = nullptr;
  const GenerativeModel* model = nullptr;
  std::vector<NamedValues> history;   // metrics.csv's rows
  NamedValues final_metrics;          // evaluation at the end
  const data::Batch* test = nullptr;  // test images and labels (may be null)
  double seconds = 0;
};
void write_generative_report(const GenerativeReport& report, const std::string& path);

// `cajal eval RUN` of a generative run: the evaluation of cli/generative_eval.h on the run's
// test split, printed one metric per line. `samples` (a .npy file of images [N, C, H, W] in
// [0, 1], optional) are judged instead of the model's own, with `sample_labels` (.npy, the
// classes they were drawn for) when given.
int eval_generative(const std::string& run_or_file, const std::string& samples, const std::string& sample_labels);

}  // namespace cajal::cli
