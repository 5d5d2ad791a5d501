// `cajal train` of a `task: simclr` config (cli/meta_config.h): SimCLR pretraining. Each
// image of the training split (labels unused) is augmented twice by data.transforms; the
// model maps both views to projections, and NT-Xent pulls the two views of an image together
// and pushes the other images of the batch away.
//
// The run folder holds model.safetensors (the whole network, its last layer the projection;
// a supervised config starts from it with init_from and replace_head), metrics.csv (mean loss
// per epoch) and config.yaml. No checkpoints.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cajal/cli/data_config.h"
#include "cajal/cli/meta_run.h"
#include "cajal/cli/model_file.h"
#include "cajal/data/loader.h"
#include "cajal/data/transforms.h"
#include "cajal/io/atomic_file.h"
#include "cajal/io/csv_log.h"
#include "cajal/ops/shape.h"
#include "cajal/optim/optimizer.h"
#include "cajal/train/self_supervised.h"

namespace cajal::cli {

int train_simclr(const RunConfig& config) {
  const std::string& out = config.output;
  DataConfig plain = config.data;  // the views are made below, from the unaugmented images
  plain.transforms.clear();
  Prepared data = prepare_data(plain, config.seed);
  const data::Transform augment = data::Compose(config.data.transforms);
  const data::Transform two_views = [augment](data::Example e, Generator& gen) {
    const Tensor first = augment(e, gen).input, second = augment(e, gen).input;
    e.input = stack({first, second});
    return e;
  };
  const data::DatasetPtr views = data::transform(data.train, two_views, config.seed, "two views");
  data::DataLoader loader(views, {.batch_size = config.batch_size, .shuffle = true, .drop_last = true,
                                  .num_workers = config.num_workers, .seed = config.seed});
  if (loader.num_batches() == 0)
    fail<ValueError>("task simclr: the training split has ", data.train->size(), " images, fewer than one batch (batch_size ",
                     config.batch_size, ")");
  try {
    std::filesystem::create_directories(out);
  } catch (const std::filesystem::filesystem_error& e) {
    fail<IOError>(out, ": cannot create the run folder (", e.code().message(), ")");
  }
  remove_stale_temporaries(out);

  manual_seed(config.seed);
  models::ModelInput input = data.input;
  input.num_classes = config.simclr.projection;
  nn::ModulePtr model = build_model(config.model, input);
  std::unique_ptr<optim::Optimizer> optimizer = config.optimizer.make(model->parameters());
  write_file_atomically(out + "/config.yaml", {config.text}, "cajal train");
  std::cout << "cajal train: SimCLR, " << config.model.describe() << " (" << model->num_parameters() << " parameters, projection "
            << config.simclr.projection << ") on " << data.train->size() << " unlabelled images, two views each; run folder "
            << out << std::endl;

  CsvLog csv(out + "/metrics.csv");
  const auto start = std::chrono::steady_clock::now();
  model->train();
  for (int64_t epoch = 1; epoch <= config.epochs; ++epoch) {
    loader.set_epoch(epoch - 1);
    const auto epoch_start = std::chrono::steady_clock::now();
    double loss_sum = 0;
    int64_t batches = 0;
    for (const data::Batch& batch : loader) {
      // Both views in one forward, so batch norm normalizes them together.
      const Tensor projections = model->forward(cat({batch.input.select(1, 0), batch.input.select(1, 1)}));
      const Tensor loss =
          train::nt_xent_loss(projections.narrow(0, 0, batch.size), projections.narrow(0, batch.size, batch.size),
                              config.simclr.temperature);
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
    std::printf("epoch %lld/%lld  nt_xent %.4f  %.1fs\n", static_cast<long long>(epoch), static_cast<long long>(config.epochs),
                mean, seconds);
    std::fflush(stdout);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ModelInfo info;
  info.model_yaml = model_config_yaml(config.text);
  info.input = input;
  info.classification = false;  // its outputs are projections, not classes
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
