// `cajal train` of `task: simclr` and `task: autoencoder` configs (cli/meta_config.h):
// self-supervised pretraining on the training split's images, labels unused.
//   simclr: each image is augmented twice by data.transforms; the model maps both views to
//     projections, and NT-Xent pulls the two views of an image together and pushes the other
//     images of the batch away.
//   autoencoder: each image is corrupted (Gaussian noise, a random share of its pixels set to
//     0, the mean after normalization; data.transforms first, if any) and the model, whose
//     output has one value per input value, is trained to give back the clean image (mean
//     squared error): a denoising / masked autoencoder.
//
// The run folder holds model.safetensors (the whole network; a supervised config starts from
// its first layers with init_from, see examples/fashion_mnist_simclr_probe.yaml), metrics.csv
// (mean loss per epoch) and config.yaml. No checkpoints.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>

#include "cajal/cli/data_config.h"
#include "cajal/cli/meta_run.h"
#include "cajal/cli/model_file.h"
#include "cajal/data/loader.h"
#include "cajal/data/transforms.h"
#include "cajal/io/atomic_file.h"
#include "cajal/io/csv_log.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/loss.h"
#include "cajal/ops/random.h"
#include "cajal/ops/shape.h"
#include "cajal/optim/optimizer.h"
#include "cajal/train/self_supervised.h"

namespace cajal::cli {

namespace {

// What one batch's loss is made of: the inputs the loader yields, and the loss of the model on them.
struct Objective {
  data::Transform prepare;  // per example: two views (simclr) or the corrupted image and the clean one
  std::function<Tensor(nn::Module&, const data::Batch&)> loss;
};

Objective simclr_objective(const RunConfig& config) {
  const data::Transform augment = data::Compose(config.data.transforms);
  const double temperature = config.simclr.temperature;
  return {[augment](data::Example e, Generator& gen) {
            const Tensor first = augment(e, gen).input, second = augment(e, gen).input;
            e.input = stack({first, second});
            return e;
          },
          [temperature](nn::Module& model, const data::Batch& batch) {
            // Both views in one forward, so batch norm normalizes them together.
            const Tensor projections = model.forward(cat({batch.input.select(1, 0), batch.input.select(1, 1)}));
            return train::nt_xent_loss(projections.narrow(0, 0, batch.size), projections.narrow(0, batch.size, batch.size),
                                       temperature);
          }};
}

Objective autoencoder_objective(const RunConfig& config) {
  const data::Transform augment = data::Compose(config.data.transforms);
  const AutoencoderConfig corruption = config.autoencoder;
  return {[augment, corruption](data::Example e, Generator& gen) {
            const Tensor clean = augment(e, gen).input;
            Tensor noisy = clean + randn(clean.sizes(), {}, &gen) * corruption.noise;
            if (corruption.mask > 0) noisy = noisy * (rand(clean.sizes(), {}, &gen) >= corruption.mask).to(clean.dtype());
            e.input = stack({noisy, clean});
            return e;
          },
          [](nn::Module& model, const data::Batch& batch) {
            return mse_loss(model.forward(batch.input.select(1, 0)), batch.input.select(1, 1).flatten(1));
          }};
}

}  // namespace

int train_self_supervised(const RunConfig& config) {
  const std::string& out = config.output;
  DataConfig plain = config.data;  // augmentation happens in the objective's prepare step
  plain.transforms.clear();
  Prepared data = prepare_data(plain, config.seed);
  const bool simclr = config.task == "simclr";
  const Objective objective = simclr ? simclr_objective(config) : autoencoder_objective(config);
  const data::DatasetPtr views = data::transform(data.train, objective.prepare, config.seed, config.task + " inputs");
  data::DataLoader loader(views, {.batch_size = config.batch_size, .shuffle = true, .drop_last = true,
                                  .num_workers = config.num_workers, .seed = config.seed});
  if (loader.num_batches() == 0)
    fail<ValueError>("task ", config.task, ": the training split has ", data.train->size(), " images, fewer than one batch (batch_size ",
                     config.batch_size, ")");
  prepare_run_folder(out);

  manual_seed(config.seed);
  models::ModelInput input = data.input;
  // SimCLR's model ends in the projection; an autoencoder's gives one value per input value.
  input.num_classes = simclr ? config.simclr.projection : numel_of(data.input.shape);
  nn::ModulePtr model = build_model(config.model, input);
  std::unique_ptr<optim::Optimizer> optimizer = config.optimizer.make(model->parameters());
  write_file_atomically(out + "/config.yaml", {config.text}, "cajal train");
  std::cout << "cajal train: " << (simclr ? "SimCLR, " : "denoising autoencoder, ") << config.model.describe() << " ("
            << model->num_parameters() << " parameters"
            << (simclr ? ", projection " + std::to_string(config.simclr.projection) + ") on " : ") on ") << data.train->size()
            << " unlabelled images" << (simclr ? ", two views each" : "") << "; run folder " << out << std::endl;

  CsvLog csv(out + "/metrics.csv");
  const auto start = std::chrono::steady_clock::now();
  model->train();
  for (int64_t epoch = 1; epoch <= config.epochs; ++epoch) {
    loader.set_epoch(epoch - 1);
    const auto epoch_start = std::chrono::steady_clock::now();
    double loss_sum = 0;
    int64_t batches = 0;
    for (const data::Batch& batch : loader) {
      const Tensor loss = objective.loss(*model, batch);
      optimizer->zero_grad();
      loss.backward();
      optimizer->step();
      loss_sum += loss.item<double>();
      ++batches;
    }
    const double mean = loss_sum / static_cast<double>(batches);
    if (!std::isfinite(mean)) fail<ValueError>("epoch ", epoch, ": the loss is not finite; training diverged");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    csv.log({{"epoch", static_cast<double>(epoch)}, {"loss", mean}, {"seconds", seconds}});
    std::printf("epoch %lld/%lld  %s %.4f  %.1fs\n", static_cast<long long>(epoch), static_cast<long long>(config.epochs),
                simclr ? "nt_xent" : "reconstruction_mse", mean, seconds);
    std::fflush(stdout);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ModelInfo info;
  info.model_yaml = model_config_yaml(config.text);
  info.input = input;
  info.classification = false;  // its outputs are projections or pixels, not classes
  info.mean = data.mean;
  info.std = data.std;
  info.metrics = {{"epochs", std::to_string(config.epochs)}, {"train_seconds", format_number(seconds)}};
  save_model(*model, info, out + "/model.safetensors");
  std::printf("trained %lld epochs in %.1f s\nwrote %s/{model.safetensors, metrics.csv, config.yaml}\n",
              static_cast<long long>(config.epochs), seconds, out.c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace cajal::cli
