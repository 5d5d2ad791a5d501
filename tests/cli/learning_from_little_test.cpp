// Learning from little from the command line: `task: maml` on sinusoid tasks and
// `task: protonet` on synthetic 8x8 images of four classes (two source, two target).
// Oracles: MAML's adapted error falls with the steps of adaptation on new tasks, the
// Prototypical Network classifies unseen well-separated classes far above chance, and the
// files hold what they say; bad configs are one line naming the key.
#include <filesystem>
#include <fstream>
#include <map>

#include "cajal/cli/config.h"
#include "cajal/io/safetensors.h"
#include "program.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace cajal {
namespace {

const char* kMaml = R"(task: maml
data: {reader: sinusoid, shots: 10, query: 10}
model: {hidden: [40, 40]}
meta: {method: maml, meta_batch: 5, iterations: 300, log_every: 100}
optimizer: {name: adam, lr: 0.003}
evaluation: {tasks: 200, points: 50, steps: [0, 1, 10]}
output: runs/maml
)";

const char* kProtonet = R"(task: protonet
data: {reader: idx, train: {inputs: train-images.idx, targets: train-labels.idx}, test: {inputs: test-images.idx, targets: test-labels.idx}}
model: {channels: 8, blocks: 2}
few_shot: {train_classes: [0, 1], test_classes: [2, 3], ways: 2, shots: 3, queries: 5, episodes: 40, test_episodes: 100, test_shots: [1, 3], log_every: 20}
optimizer: {name: adam, lr: 0.003}
output: runs/protonet
)";

std::string config_error(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  return test::error_message<Error>([&] { cli::parse_config(yaml, "run.yaml", overrides); });
}

// evaluation.csv's rows after the header, as numbers.
std::vector<std::vector<double>> evaluation_rows(const std::string& path) {
  std::ifstream file(path);
  std::string line;
  std::getline(file, line);
  std::vector<std::vector<double>> rows;
  while (std::getline(file, line)) {
    std::vector<double> row;
    std::stringstream cells(line);
    std::string cell;
    while (std::getline(cells, cell, ',')) row.push_back(std::stod(cell));
    rows.push_back(row);
  }
  return rows;
}

TEST(LearningFromLittleConfig, ReadsAndRefuses) {
  cli::RunConfig maml = cli::parse_config(kMaml, "run.yaml");
  EXPECT_EQ(maml.task, "maml");
  EXPECT_EQ(maml.meta.meta_batch, 5);
  EXPECT_EQ(maml.meta.method_name(), "maml");
  EXPECT_EQ(cli::parse_config(kMaml, "run.yaml", {"meta.method=pretrain"}).meta.method_name(), "pretrain");
  EXPECT_NE(config_error(kMaml, {"meta.method=mamal"}).find("mamal"), std::string::npos);
  EXPECT_NE(config_error(kMaml, {"epochs=3"}).find("'epochs' is not used by task maml"), std::string::npos);
  EXPECT_NE(config_error(kMaml, {"meta.inner_lr=0"}).find("'inner_lr' must be positive"), std::string::npos);
  EXPECT_NE(config_error(kMaml, {"data.amplitude_min=6"}).find("amplitude range"), std::string::npos);
  EXPECT_NE(config_error(kMaml, {"meta.inerr_steps=2"}).find("inerr_steps"), std::string::npos);

  cli::RunConfig proto = cli::parse_config(kProtonet, "run.yaml");
  EXPECT_EQ(proto.few_shot.episode.ways, 2);
  EXPECT_EQ(proto.few_shot.test_shots, (std::vector<int64_t>{1, 3}));
  EXPECT_NE(config_error(kProtonet, {"few_shot.ways=3"}).find("'train_classes' lists fewer classes than an episode's 3 ways"),
            std::string::npos);
}

TEST(LearningFromLittleProgram, MamlAdaptsToNewSinusoids) {
  const std::string dir = test::temp_dir();
  test::write_text(dir + "/maml.yaml", kMaml);
  test::ProgramResult r = test::cajal(dir, "train maml.yaml");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("200 new tasks, 10-shot, after 10 steps: mse"), std::string::npos) << r.out;
  const auto rows = evaluation_rows(dir + "/runs/maml/evaluation.csv");
  ASSERT_EQ(rows.size(), 3u);
  // steps, mse, ci95: adapting helps (each step count beyond the interval of the one before).
  EXPECT_LT(rows[1][1] + rows[1][2], rows[0][1]);
  EXPECT_LT(rows[2][1], rows[1][1]);
  EXPECT_TRUE(fs::exists(dir + "/runs/maml/model.safetensors"));
  // The learned initialization is a regression model `cajal predict` runs on x values.
  test::write_text(dir + "/x.csv", "x\n0.5\n-2\n");
  r = test::cajal(dir, "predict runs/maml --input x.csv");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("input,prediction\n0,", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\n1,"), std::string::npos) << r.out;
  r = test::cajal(dir, "train maml.yaml --resume runs/maml/model.safetensors");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("task maml runs write no checkpoints"), std::string::npos) << r.err;
}

TEST(LearningFromLittleProgram, ProtonetClassifiesUnseenClasses) {
  const std::string dir = test::temp_dir();
  test::write_squares(dir, "train", 400, 1);
  test::write_squares(dir, "test", 200, 2);
  test::write_text(dir + "/protonet.yaml", kProtonet);
  test::ProgramResult r = test::cajal(dir, "train protonet.yaml");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const auto rows = evaluation_rows(dir + "/runs/protonet/evaluation.csv");
  ASSERT_EQ(rows.size(), 2u);
  // ways, shots, accuracy, ci95: squares in the two unseen quadrants are told apart far above
  // the 0.5 of chance, and more shots do not hurt.
  EXPECT_GT(rows[0][2] - rows[0][3], 0.8);
  EXPECT_GE(rows[1][2] + rows[1][3], rows[0][2] - rows[0][3]);
  EXPECT_TRUE(fs::exists(dir + "/runs/protonet/embedding.safetensors"));
  // An episode asking for more examples than a class has: one line naming the class.
  r = test::cajal(dir, "train protonet.yaml --set few_shot.queries=500");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("examples of class 0, which has"), std::string::npos) << r.err;
}

const char* kSource = R"(data:
  reader: idx
  train: {inputs: train-images.idx, targets: train-labels.idx}
  test: {inputs: test-images.idx, targets: test-labels.idx}
  classes: [0, 1]
model: {preset: cnn, options: {channels: [4, 8], hidden: 16}}
optimizer: {name: adam, lr: 0.01}
epochs: 2
batch_size: 16
num_workers: 0
output: runs/source
)";

TEST(TransferProgram, LinearProbeTrainsOnlyTheNewHead) {
  const std::string dir = test::temp_dir();
  test::write_squares(dir, "train", 300, 3);
  test::write_squares(dir, "test", 100, 4);
  test::write_text(dir + "/source.yaml", kSource);
  test::ProgramResult r = test::cajal(dir, "train source.yaml");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const std::string target = std::string(kSource) + "init_from: runs/source\nreplace_head: {classes: 2}\nfreeze: [\"*\"]\n";
  test::write_text(dir + "/target.yaml", target);
  r = test::cajal(dir, "train target.yaml --set 'data.classes=[2, 3]' --set data.per_class=20 --output runs/probe");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("init_from runs/source/model.safetensors: loaded 18 of the model's 18 tensors"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("replace_head: \"12\" is a new Linear(16, 2)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("on 40 examples"), std::string::npos) << r.out;  // 20 per class
  // The frozen backbone is bit for bit the source's; the head is not.
  const auto source = load_safetensors(dir + "/runs/source/model.safetensors");
  const auto probe = load_safetensors(dir + "/runs/probe/model.safetensors");
  auto find = [](const NamedTensors& tensors, const std::string& name) {
    for (const auto& [key, t] : tensors)
      if (key == name) return t;
    return Tensor();
  };
  EXPECT_TRUE(test::all_close(find(probe, "0.weight"), find(source, "0.weight"), 0, 0));
  EXPECT_EQ(find(probe, "12.weight").sizes(), (Dims{2, 16}));

  // Bad input: one line naming the thing.
  r = test::cajal(dir, "train target.yaml --set 'freeze=[\"features.*\"]' --output runs/bad");
  EXPECT_NE(r.err.find("the pattern \"features.*\" matches no parameter"), std::string::npos) << r.err;
  r = test::cajal(dir, "train target.yaml --set 'model={preset: mlp, options: {hidden: [7]}}' --output runs/bad");
  EXPECT_NE(r.err.find("no tensor of the file fits the model"), std::string::npos) << r.err;
  r = test::cajal(dir, "train target.yaml --set replace_head.classes=3 --output runs/bad");
  EXPECT_NE(r.err.find("replace_head: classes is 3 but the data has 2 classes"), std::string::npos) << r.err;
  r = test::cajal(dir, "train target.yaml --set data.per_class=1000 --output runs/bad");
  EXPECT_NE(r.err.find("data.per_class: take_per_class: 1000 examples of class 0 asked for"), std::string::npos) << r.err;
  r = test::cajal(dir, "train target.yaml --set 'data.classes=[2, 7]' --output runs/bad");
  EXPECT_NE(r.err.find("data.classes: class 7 is beyond the data's 4 classes"), std::string::npos) << r.err;
}

TEST(TransferProgram, ParamGroupsGiveTheHeadItsOwnLearningRate) {
  const std::string dir = test::temp_dir();
  test::write_squares(dir, "train", 100, 5);
  test::write_squares(dir, "test", 50, 6);
  test::write_text(dir + "/run.yaml", std::string(kSource) + "param_groups: [{match: \"12.*\", lr: 0.05, weight_decay: 0.1}]\n");
  test::ProgramResult r = test::cajal(dir, "train run.yaml --set 'data.classes=[0, 1, 2, 3]' --output runs/groups");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  // The optimizer's state in the checkpoint: group 0 is the head (2 tensors: indices 0 and 1
  // of the optimizer's numbering), group 1 everything else with the optimizer section's lr.
  std::map<std::string, Tensor> state;
  for (const auto& [key, t] : load_safetensors(dir + "/runs/groups/last.ckpt")) state[key] = t;
  EXPECT_DOUBLE_EQ(state.at("optimizer.param_groups.0.lr").item<double>(), 0.05);
  EXPECT_DOUBLE_EQ(state.at("optimizer.param_groups.0.weight_decay").item<double>(), 0.1);
  EXPECT_DOUBLE_EQ(state.at("optimizer.param_groups.1.lr").item<double>(), 0.01);
  EXPECT_DOUBLE_EQ(state.at("optimizer.param_groups.1.weight_decay").item<double>(), 0.0);
  EXPECT_EQ(state.at("optimizer.param_groups.0.params").numel(), 2);
  EXPECT_EQ(state.at("optimizer.param_groups.1.params").numel(), 10);
}

TEST(SimclrProgram, PretrainsWithoutLabelsThenProbes) {
  const std::string dir = test::temp_dir();
  test::write_squares(dir, "train", 200, 7);
  test::write_squares(dir, "test", 50, 8);
  // The source config as a SimCLR run: all classes, two views' augmentations, a projection of 6.
  test::write_text(dir + "/simclr.yaml", kSource);
  test::ProgramResult r = test::cajal(
      dir, "train simclr.yaml --set task=simclr --set 'simclr={projection: 6}' --set data.classes=[] --output runs/simclr "
           "--set 'data.transforms=[{type: random_crop, padding: 1}, {type: gaussian_noise, std: 0.1}]'");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("SimCLR, cnn"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("projection 6"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("epoch 2/2  nt_xent"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(dir + "/runs/simclr/model.safetensors"));
  // A probe from it: everything but the projection layer loads.
  r = test::cajal(dir, "train simclr.yaml --set data.classes=[] --set init_from=runs/simclr --set replace_head=true "
                       "--set 'freeze=[\"*\"]' --output runs/probe");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("loaded 16 of the model's 18 tensors; mismatched: 12.weight (shape [6, 16] in the file"),
            std::string::npos)
      << r.out;
  // A denoising autoencoder on the same data: the model's output has one value per pixel.
  r = test::cajal(dir, "train simclr.yaml --set task=autoencoder --set 'autoencoder={noise: 0.3, mask: 0.2}' "
                       "--set data.classes=[] --set 'model={layers: [{type: flatten}, {type: linear, out: 16}, {type: relu}, "
                       "{type: linear, out: 64}]}' --output runs/autoencoder");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("denoising autoencoder"), std::string::npos) << r.out;
  // The reconstruction error falls from the first epoch to the second.
  std::ifstream metrics(dir + "/runs/autoencoder/metrics.csv");
  std::string header, first, second;
  std::getline(metrics, header);
  std::getline(metrics, first);
  std::getline(metrics, second);
  EXPECT_EQ(header, "epoch,loss,seconds");
  EXPECT_LT(std::stod(second.substr(second.find(',') + 1)), std::stod(first.substr(first.find(',') + 1)));
  r = test::cajal(dir, "train simclr.yaml --set task=autoencoder --set autoencoder.mask=1 --output runs/bad");
  EXPECT_NE(r.err.find("'mask' must be in [0, 1)"), std::string::npos) << r.err;
  // Without transforms there are no two views: one line says so.
  r = test::cajal(dir, "train simclr.yaml --set task=simclr --output runs/bad");
  EXPECT_NE(r.err.find("needs transforms for task simclr"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace cajal
