// Few-shot learning: Prototypical Networks' prototypes, logits, loss and gradients against
// PyTorch (tests/reference/few_shot_reference.py), and the N-way K-shot episode sampler.
#include <set>

#include "cajal/autograd/engine.h"
#include "cajal/data/episodes.h"
#include "cajal/io/npy.h"
#include "cajal/nn/nn.h"
#include "cajal/train/few_shot.h"
#include "support/test_support.h"

namespace cajal {
namespace {

// Labels 0, 1, ..., k-1, 0, 1, ... for n examples.
Tensor cycling_labels(int64_t n, int64_t k) {
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < n; ++i) labels.push_back(i % k);
  return from_vector(labels, {n});
}

TEST(FewShot, PrototypicalLossMatchesPyTorch) {
  const std::string dir = test::temp_dir();
  ASSERT_TRUE(test::run_reference("few_shot_reference.py", dir));
  auto load = [&](const std::string& name) { return load_npy(dir + "/" + name + ".npy"); };
  const Tensor support = load("support").requires_grad_(true), query = load("query").requires_grad_(true);
  const Tensor prototypes = train::class_prototypes(support, load("support_labels"), 5);
  EXPECT_TRUE(test::all_close(prototypes, load("prototypes"), 1e-12, 1e-12));
  const Tensor logits = train::prototype_logits(query, prototypes);
  EXPECT_TRUE(test::all_close(logits, load("logits"), 1e-10, 1e-10));
  const Tensor loss = cross_entropy(logits, load("query_labels"));
  EXPECT_NEAR(loss.item<double>(), load("loss").item<double>(), 1e-12);
  const TensorList grads = autograd::grad({loss}, {support, query});
  EXPECT_TRUE(test::all_close(grads[0], load("grad_support"), 1e-9, 1e-12));
  EXPECT_TRUE(test::all_close(grads[1], load("grad_query"), 1e-9, 1e-12));
}

TEST(FewShot, EpisodeOfAnIdentityEmbeddingClassifiesSeparatedClusters) {
  // Three well separated clusters: the nearest prototype is always the right one.
  Generator gen(3);
  Tensor inputs = randn({60, 2}, {}, &gen) * 0.1;
  Tensor labels = arange(60) / 20;  // 20 examples of each class
  inputs = inputs + cat({full({20, 2}, 0.0), full({20, 2}, 5.0), full({20, 2}, -5.0)});
  data::EpisodeSampler sampler(inputs, labels, {}, {.ways = 3, .shots = 2, .queries = 5});
  nn::Identity identity;
  const data::Episode episode = sampler.draw(gen);
  const train::EpisodeResult result = train::prototypical_episode(*identity, episode, 3);
  EXPECT_DOUBLE_EQ(result.accuracy, 1.0);
  EXPECT_LT(result.loss.item<double>(), 1e-3);
}

TEST(FewShot, SamplerDrawsDistinctExamplesOfTheAllowedClasses) {
  const Tensor inputs = arange(100).to(DType::f32).reshape({100, 1});  // input i is the number i
  const Tensor labels = cycling_labels(100, 10);
  data::EpisodeSampler sampler(inputs, labels, {5, 6, 7, 8, 9}, {.ways = 5, .shots = 2, .queries = 3});
  Generator gen(5);
  std::set<int64_t> classes_seen;
  for (int trial = 0; trial < 20; ++trial) {
    const data::Episode e = sampler.draw(gen);
    ASSERT_EQ(e.support_input.sizes(), (Dims{10, 1}));
    ASSERT_EQ(e.query_input.sizes(), (Dims{15, 1}));
    std::set<int64_t> used;
    for (const auto& [input, target] : {std::pair{e.support_input, e.support_target}, std::pair{e.query_input, e.query_target}}) {
      for (int64_t i = 0; i < input.size(0); ++i) {
        const auto example = static_cast<int64_t>(input[i][0].item<float>());
        EXPECT_TRUE(used.insert(example).second) << "example " << example << " drawn twice";
        classes_seen.insert(example % 10);
        // Episode label k means the same original class within the episode.
        const int64_t k = target[i].item<int64_t>();
        EXPECT_EQ(example % 10, static_cast<int64_t>(e.support_input[k * 2][0].item<float>()) % 10);
      }
    }
  }
  EXPECT_EQ(classes_seen, (std::set<int64_t>{5, 6, 7, 8, 9}));
}

TEST(FewShot, SamplerNamesWhatAnEpisodeCannotHave) {
  const Tensor inputs = zeros({30, 1});
  const Tensor labels = cycling_labels(30, 3);  // 10 examples per class
  test::expect_error<ValueError>(
      [&] { data::EpisodeSampler(inputs, labels, {}, {.ways = 3, .shots = 5, .queries = 6}); },
      {"5 shots + 6 queries = 11 examples of class 0, which has 10"});
  test::expect_error<ValueError>([&] { data::EpisodeSampler(inputs, labels, {0, 1}, {.ways = 3, .shots = 1, .queries = 1}); },
                                 {"3-way episodes need 3 classes, only 2"});
  test::expect_error<ValueError>([&] { data::EpisodeSampler(inputs, labels, {7}, {.ways = 1, .shots = 1, .queries = 1}); },
                                 {"of class 7, which has 0"});
}

}  // namespace
}  // namespace cajal
