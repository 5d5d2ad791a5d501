// `cajal train` of a `task: protonet` config (cli/meta_config.h): a Prototypical Network
// trained on episodes of the source classes, then judged on N-way K-shot episodes of the
// target classes it never saw.
//
// The run folder holds embedding.safetensors (the embedding network's weights),
// metrics.csv (mean episode loss and query accuracy per log_every episodes),
// evaluation.csv (for each test shot count: mean query accuracy over test_episodes
// episodes with its 95% confidence interval) and config.yaml. No checkpoints (minutes).
#include <chrono>
#include <cstdio>
#include <iostream>

#include "cajal/autograd/grad_mode.h"
#include "cajal/cli/data_config.h"
#include "cajal/cli/generative_eval.h"
#include "cajal/cli/meta_run.h"
#include "cajal/io/atomic_file.h"
#include "cajal/io/csv_log.h"
#include "cajal/metrics/confidence.h"
#include "cajal/nn/serialize.h"
#include "cajal/optim/optimizer.h"
#include "cajal/train/few_shot.h"

namespace cajal::cli {

int train_protonet(const RunConfig& config) {
  const FewShotConfig& cfg = config.few_shot;
  const std::string& out = config.output;
  Prepared data = prepare_data(config.data, config.seed);
  if (!data.classification) fail<ValueError>("task protonet needs class labels; the data has target values");
  if (!data.test) fail<ValueError>("task protonet needs a test split: its target classes are judged there");
  if (data.input.shape.size() != 3) fail<ValueError>("task protonet needs images [C, H, W], got examples of shape ", data.input.shape);
  prepare_run_folder(out);
  const data::Batch train = whole_dataset(*data.train), test = whole_dataset(*data.test);
  const data::EpisodeSampler train_episodes(train.input, train.target, cfg.train_classes, cfg.episode);

  manual_seed(config.seed);
  const models::ImageInput image{data.input.shape[0], {data.input.shape[1], data.input.shape[2]}, 0};
  nn::Sequential model = models::protonet_embedding(image, cfg.model);
  std::unique_ptr<optim::Optimizer> optimizer = config.optimizer.make(model->parameters());
  write_file_atomically(out + "/config.yaml", {config.text}, "cajal train");
  std::cout << "cajal train: Prototypical Network (" << model->num_parameters() << " parameters), " << cfg.episodes << " "
            << cfg.episode.ways << "-way " << cfg.episode.shots << "-shot episodes of "
            << train_episodes.classes().size() << " source classes; run folder " << out << std::endl;

  CsvLog csv(out + "/metrics.csv");
  Generator draw(config.seed);
  const auto start = std::chrono::steady_clock::now();
  double loss_sum = 0, accuracy_sum = 0;
  model->train();
  for (int64_t episode = 1; episode <= cfg.episodes; ++episode) {
    optimizer->zero_grad();
    const train::EpisodeResult result = train::prototypical_episode(*model, train_episodes.draw(draw), cfg.episode.ways);
    result.loss.backward();
    optimizer->step();
    loss_sum += result.loss.item<double>();
    accuracy_sum += result.accuracy;
    if (episode % cfg.log_every == 0 || episode == cfg.episodes) {
      const auto rows = static_cast<double>((episode - 1) % cfg.log_every + 1);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      csv.log({{"episode", static_cast<double>(episode)}, {"loss", loss_sum / rows}, {"accuracy", accuracy_sum / rows},
               {"seconds", seconds}});
      std::printf("episode %lld/%lld: loss %.4f, query accuracy %.4f (%.1f s)\n", static_cast<long long>(episode),
                  static_cast<long long>(cfg.episodes), loss_sum / rows, accuracy_sum / rows, seconds);
      std::fflush(stdout);
      loss_sum = accuracy_sum = 0;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("trained %lld episodes in %.1f s\n", static_cast<long long>(cfg.episodes), seconds);

  model->eval();
  NoGradGuard no_grad;
  CsvLog evaluation(out + "/evaluation.csv");
  for (int64_t shots : cfg.test_shots) {
    data::EpisodeOptions options = cfg.episode;
    options.shots = shots;
    const data::EpisodeSampler test_episodes(test.input, test.target, cfg.test_classes, options);
    Generator test_draw(config.seed + 1000003 + static_cast<uint64_t>(shots));
    std::vector<double> accuracies;
    for (int64_t i = 0; i < cfg.test_episodes; ++i)
      accuracies.push_back(train::prototypical_episode(*model, test_episodes.draw(test_draw), options.ways).accuracy);
    const metrics::MeanEstimate e = metrics::mean_with_ci95(accuracies);
    evaluation.log({{"ways", static_cast<double>(options.ways)}, {"shots", static_cast<double>(shots)},
                    {"accuracy", e.mean}, {"ci95", e.ci95}});
    std::printf("%lld test episodes, %lld-way %lld-shot on classes never trained on: accuracy %.4f +- %.4f (95%% CI)\n",
                static_cast<long long>(cfg.test_episodes), static_cast<long long>(options.ways), static_cast<long long>(shots),
                e.mean, e.ci95);
  }
  nn::save(*model, out + "/embedding.safetensors");
  std::printf("wrote %s/{embedding.safetensors, metrics.csv, evaluation.csv, config.yaml}\n", out.c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace cajal::cli
