#include "cajal/cli/compress_run.h"

#include <cmath>
#include <cstdio>

#include "cajal/autograd/grad_mode.h"
#include "cajal/cli/inputs.h"
#include "cajal/cli/model_file.h"
#include "cajal/metrics/metrics.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/shape.h"
#include "cajal/compress/distillation.h"

namespace cajal::cli {

std::vector<ParamGroupRequest> prepare_transfer_and_prune(const RunConfig& config, nn::Module& model, int64_t classes,
                                                          compress::LayerWidths& pruned_widths, std::ostream& log) {
  if (!config.prune || !config.prune->structured) return prepare_transfer(config.transfer, model, classes, log);
  // Channels are ranked by the weights, so the weights load first; freezing and the groups
  // then see the pruned layers.
  TransferConfig load_only;
  load_only.init_from = config.transfer.init_from;
  prepare_transfer(load_only, model, classes, log);
  const int64_t before = model.num_parameters();
  pruned_widths = compress::prune_channels(model, config.prune->options.sparsity);
  log << "structured pruning: " << config.prune->options.sparsity * 100 << "% of the channels of " << pruned_widths.size()
      << " layers removed (kept:";
  for (const auto& [name, width] : pruned_widths) log << " " << name << "=" << width;
  log << "); " << before << " -> " << model.num_parameters() << " parameters" << std::endl;
  TransferConfig rest = config.transfer;
  rest.init_from.clear();
  return prepare_transfer(rest, model, classes, log);
}

std::shared_ptr<compress::PruningCallback> make_pruning_callback(const RunConfig& config, const nn::Module& model) {
  if (!config.prune || config.prune->structured) return nullptr;
  return std::make_shared<compress::PruningCallback>(model, config.prune->options);
}


std::function<Tensor(const Tensor&, const data::Batch&)> make_distillation_loss(const DistillConfig& config,
                                                                                const Prepared& data, std::ostream& log) {
  LoadedModel teacher = load_model(config.teacher);
  const ModelInfo& info = teacher.info;
  const std::string where = "distill.teacher " + teacher.path;
  if (!data.classification || !info.classification || info.input.per_step)
    fail<ValueError>(where, ": distillation teaches classifiers; the teacher or the data is not one");
  if (info.input.num_classes != data.input.num_classes) {
    fail<ValueError>(where, ": the teacher has ", info.input.num_classes, " classes, the student's data ",
                     data.input.num_classes, "; a teacher must know the student's classes");
  }
  if (!info.class_names.empty() && !data.class_names.empty() && info.class_names != data.class_names)
    fail<ValueError>(where, ": the teacher's classes (", info.class_names.front(), ", ...) are not the data's (",
                     data.class_names.front(), ", ...), or not in the same order");
  if (info.input.shape != data.input.shape)
    fail<ShapeError>(where, ": the teacher takes examples of shape ", info.input.shape, ", the data has ", data.input.shape);
  // The teacher gets its inputs as its own training normalized them: the student's batches
  // (normalized with this run's statistics, which move with the seed's validation split)
  // are mapped back through x * scale + shift, per channel or feature.
  const std::vector<double> student_mean = data.mean.empty() ? std::vector<double>{0.0} : data.mean;
  const std::vector<double> student_std = data.std.empty() ? std::vector<double>{1.0} : data.std;
  const std::vector<double> teacher_mean = info.mean.empty() ? std::vector<double>{0.0} : info.mean;
  const std::vector<double> teacher_std = info.std.empty() ? std::vector<double>{1.0} : info.std;
  const size_t channels = std::max(student_mean.size(), teacher_mean.size());
  if ((student_mean.size() != 1 && student_mean.size() != channels) || (teacher_mean.size() != 1 && teacher_mean.size() != channels))
    fail<ValueError>(where, ": the teacher normalizes ", teacher_mean.size(), " channels, this run ", student_mean.size());
  std::vector<double> scale(channels), shift(channels);
  bool identity = true;
  for (size_t c = 0; c < channels; ++c) {
    const double ms = student_mean[student_mean.size() == 1 ? 0 : c], ss = student_std[student_std.size() == 1 ? 0 : c];
    const double mt = teacher_mean[teacher_mean.size() == 1 ? 0 : c], st = teacher_std[teacher_std.size() == 1 ? 0 : c];
    scale[c] = ss / st;
    shift[c] = (ms - mt) / st;
    identity = identity && scale[c] == 1 && shift[c] == 0;
  }
  Dims stat_shape(static_cast<int64_t>(info.input.shape.size()) + 1, 1);
  stat_shape[1] = static_cast<int64_t>(channels);
  const Tensor to_teacher_scale = from_vector(scale, stat_shape).to(DType::f32), to_teacher_shift = from_vector(shift, stat_shape).to(DType::f32);
  log << "distillation: teacher " << teacher.path << " (" << teacher.module->num_parameters() << " parameters), temperature "
      << config.options.temperature << ", alpha " << config.options.alpha << std::endl;
  nn::ModulePtr model = teacher.module;
  compress::DistillationOptions options = config.options;
  return [model, options, identity, to_teacher_scale, to_teacher_shift](const Tensor& output, const data::Batch& batch) {
    Tensor teacher_logits;
    {
      NoGradGuard no_grad;
      teacher_logits = model->forward(identity ? batch.input : batch.input * to_teacher_scale + to_teacher_shift);
    }
    return compress::distillation_loss(output, teacher_logits, batch.target, options);
  };
}

std::pair<Tensor, Tensor> first_examples(const data::Dataset& dataset, int64_t count) {
  TensorList inputs, targets;
  const int64_t n = count < 0 ? dataset.size() : std::min(count, dataset.size());
  for (int64_t i = 0; i < n; ++i) {
    data::Example example = dataset.get(i);
    inputs.push_back(example.input);
    targets.push_back(example.target);
  }
  return {stack(inputs), stack(targets)};
}

double dataset_accuracy(nn::Module& model, const data::Dataset& dataset) {
  const auto [inputs, targets] = first_examples(dataset);
  return metrics::accuracy(run_model(model, inputs, 1000), targets);
}

void finish_quantize_aware(const compress::QatSequentialImpl& qat, ModelInfo info, const Prepared& data, const std::string& path,
                           std::ostream& log) {
  auto quantized = qat.convert();
  info.quantized = "int8";
  info.metrics.clear();
  if (data.test) {
    const double accuracy = dataset_accuracy(*quantized, *data.test);
    info.metrics.emplace_back("test_accuracy", format_number(accuracy));
    char line[160];
    std::snprintf(line, sizeof line, "int8 model (quantization-aware training): test accuracy %.4f", accuracy);
    log << line << std::endl;
  }
  save_model(*quantized, info, path);
}

}  // namespace cajal::cli
