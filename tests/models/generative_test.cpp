// The VAE and the DCGAN against their PyTorch twins (tests/reference/generative_reference.py)
// with the same weights, inputs and noise: the ELBO's two terms, the importance-weighted
// bound, the GAN's outputs and both losses, and their gradients. Then what holds without a
// twin: the bounds' order and the errors for bad input.
#include <filesystem>
#include <fstream>

#include "cajal/models/gan.h"
#include "cajal/models/vae.h"
#include "cajal/ops/random.h"
#include "support/test_support.h"

namespace cajal {
namespace {

namespace fs = std::filesystem;
using models::ImageInput;

constexpr int64_t kBatch = 4, kDraws = 5;

void save_params(nn::Module& model, const std::string& dir) {
  fs::create_directories(dir + "/params");
  for (const auto& [name, t] : model.state_dict()) save_npy(t, dir + "/params/" + name + ".npy");
}

struct VaeCase {
  std::string name;
  models::VAEOptions options;
};

const std::vector<VaeCase> kVaeCases = {
    {"conv_bernoulli", {.latent = 6, .convolutional = true, .likelihood = models::Likelihood::Bernoulli}},
    {"mlp_gaussian_conditional",
     {.latent = 3, .convolutional = false, .hidden = 20, .likelihood = models::Likelihood::Gaussian, .num_classes = 10, .label_dim = 4}},
};

// Each case's folder: the weights, x, labels, the noise, and what torch computed from them.
class Generative : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = test::temp_dir();
    Generator gen(7);
    x_ = rand({kBatch, 1, 28, 28}, {}, &gen);
    labels_ = tensor({3, 0, 9, 3});
    save_npy(x_, root_ + "/x.npy");
    save_npy(labels_, root_ + "/labels.npy");
    std::string args = root_;
    for (const VaeCase& c : kVaeCases) {
      manual_seed(11);
      auto vae = std::make_shared<models::VAEImpl>(ImageInput{}, c.options);
      if (c.options.likelihood == models::Likelihood::Gaussian) {  // a sigma away from 1
        NoGradGuard no_grad;
        for (auto& [name, t] : vae->named_parameters())
          if (name == "log_sigma") Tensor(t).fill_(-0.7);
      }
      const std::string dir = root_ + "/" + c.name;
      save_params(*vae, dir);
      save_npy(randn({kBatch, c.options.latent}, {}, &gen), dir + "/eps.npy");
      save_npy(randn({kDraws, kBatch, c.options.latent}, {}, &gen), dir + "/eps_k.npy");
      std::ofstream(dir + "/config.json") << "{\"latent\": " << c.options.latent << ", \"conv\": " << (c.options.convolutional ? "true" : "false")
                                          << ", \"hidden\": " << c.options.hidden << ", \"gaussian\": "
                                          << (c.options.likelihood == models::Likelihood::Gaussian ? "true" : "false")
                                          << ", \"classes\": " << c.options.num_classes << ", \"label_dim\": " << c.options.label_dim << "}";
      vaes_[c.name] = vae;
      args += " vae:" + c.name;
    }
    for (int64_t classes : {0, 10}) {
      manual_seed(13);
      const models::GANOptions options{.latent = 8, .width = 6, .num_classes = classes};
      const std::string name = classes ? "gan_conditional" : "gan";
      auto g = std::make_shared<models::DCGANGeneratorImpl>(ImageInput{}, options);
      auto d = std::make_shared<models::DCGANDiscriminatorImpl>(ImageInput{}, options);
      save_params(*g, root_ + "/" + name + "/g");
      save_params(*d, root_ + "/" + name + "/d");
      save_npy(randn({kBatch, options.latent}, {}, &gen), root_ + "/" + name + "/z.npy");
      std::ofstream(root_ + "/" + name + "/config.json") << "{\"latent\": 8, \"width\": 6, \"classes\": " << classes << "}";
      gans_[name] = {g, d};
      args += " gan:" + name;
    }
    written_ = test::run_reference("generative_reference.py", args, &log_);
  }
  void SetUp() override { ASSERT_TRUE(written_) << log_; }
  static Tensor expected(const std::string& name, const std::string& what) { return load_npy(root_ + "/" + name + "/" + what + ".npy"); }
  static Tensor labels_for(const models::VAEImpl& vae) { return vae.options().num_classes ? labels_ : Tensor(); }

  static inline std::string root_, log_;
  static inline Tensor x_, labels_;
  static inline std::map<std::string, std::shared_ptr<models::VAEImpl>> vaes_;
  static inline std::map<std::string, std::pair<std::shared_ptr<models::DCGANGeneratorImpl>, std::shared_ptr<models::DCGANDiscriminatorImpl>>>
      gans_;
  static inline bool written_ = false;
};

TEST_F(Generative, VaeElboTermsAndGradientsMatchTorch) {
  for (const VaeCase& c : kVaeCases) {
    SCOPED_TRACE(c.name);
    models::VAEImpl& vae = *vaes_.at(c.name);
    vae.zero_grad();
    models::ElboTerms terms = models::elbo_terms(vae, x_, labels_for(vae), expected(c.name, "eps"));
    EXPECT_TRUE(test::all_close(terms.reconstruction, expected(c.name, "reconstruction"), 1e-5, 1e-3));
    EXPECT_TRUE(test::all_close(terms.kl, expected(c.name, "kl"), 1e-5, 1e-5));
    Tensor loss = models::vae_loss(terms, 0.5);
    EXPECT_NEAR(loss.item<double>(), expected(c.name, "loss").item<double>(), 1e-4 * std::abs(loss.item<double>()));
    loss.backward();
    for (const auto& [name, p] : vae.named_parameters()) {
      SCOPED_TRACE(name);
      EXPECT_TRUE(test::all_close(p.grad(), load_npy(root_ + "/" + c.name + "/grad/" + name + ".npy"), 1e-4, 1e-5));
    }
  }
}

TEST_F(Generative, ImportanceWeightedBoundMatchesTorchAndLiesBelowTheElbo) {
  for (const VaeCase& c : kVaeCases) {
    SCOPED_TRACE(c.name);
    models::VAEImpl& vae = *vaes_.at(c.name);
    NoGradGuard no_grad;
    Tensor eps_k = expected(c.name, "eps_k");
    Tensor iw = models::importance_weighted_nll(vae, x_, kDraws, labels_for(vae), eps_k);
    EXPECT_TRUE(test::all_close(iw, expected(c.name, "iw_nll"), 1e-5, 1e-3));
    // One draw: the importance-weighted estimate is the one-draw negative ELBO whose KL is
    // estimated from that draw, log q(z | x) - log p(z), not taken in closed form.
    const Tensor e = eps_k.select(0, 0);
    models::Posterior q = vae.encode(x_, labels_for(vae));
    const Tensor z = q.mean + exp(0.5 * q.log_var) * e;
    const Tensor kl_of_draw = (0.5 * z.square() - 0.5 * e.square() - 0.5 * q.log_var).sum({1});
    models::ElboTerms one = models::elbo_terms(vae, x_, labels_for(vae), e);
    EXPECT_TRUE(test::all_close(models::importance_weighted_nll(vae, x_, 1, labels_for(vae), eps_k.narrow(0, 0, 1)),
                                one.reconstruction + kl_of_draw, 1e-5, 1e-3));
    // Many draws: below the negative ELBO averaged over as many draws.
    Generator gen(1);
    Tensor bound = models::importance_weighted_nll(vae, x_, 100, labels_for(vae), Tensor(), &gen);
    Tensor elbo = zeros({kBatch});
    for (int i = 0; i < 100; ++i) {
      models::ElboTerms t = models::elbo_terms(vae, x_, labels_for(vae), Tensor(), &gen);
      elbo = elbo + (t.reconstruction + t.kl) / 100.0;
    }
    EXPECT_LT(bound.sum().item<double>(), elbo.sum().item<double>());
  }
}

TEST_F(Generative, DcganOutputsLossesAndGradientsMatchTorch) {
  for (const auto& [name, pair] : gans_) {
    SCOPED_TRACE(name);
    auto& [g, d] = pair;
    const bool conditional = g->options().num_classes > 0;
    const Tensor labels = conditional ? labels_ : Tensor();
    g->zero_grad();
    d->zero_grad();
    Tensor fake = g->forward(expected(name, "z"), labels);  // training mode: batch statistics, as torch's twin
    EXPECT_TRUE(test::all_close(fake, expected(name, "fake"), 1e-4, 1e-5));
    Tensor real_logits = d->forward(x_ * 2.0 - 1.0, labels), fake_logits = d->forward(fake, labels);
    EXPECT_TRUE(test::all_close(real_logits, expected(name, "real_logits"), 1e-4, 1e-5));
    const std::vector<std::pair<std::string, Tensor>> losses = {
        {"d_nonsaturating", models::discriminator_loss(real_logits, fake_logits, models::GANLoss::NonSaturating, 0.1)},
        {"d_hinge", models::discriminator_loss(real_logits, fake_logits, models::GANLoss::Hinge)},
        {"g_nonsaturating", models::generator_loss(fake_logits, models::GANLoss::NonSaturating)},
        {"g_hinge", models::generator_loss(fake_logits, models::GANLoss::Hinge)}};
    for (const auto& [loss_name, loss] : losses)
      EXPECT_NEAR(loss.item<double>(), expected(name, loss_name).item<double>(), 1e-5) << loss_name;
    losses[0].second.backward();  // the discriminator's loss reaches both networks
    for (const auto& [module, model] : {std::pair<std::string, nn::Module*>{"g", g.get()}, {"d", d.get()}})
      for (const auto& [param, p] : model->named_parameters()) {
        SCOPED_TRACE(module + "." + param);
        EXPECT_TRUE(test::all_close(p.grad(), load_npy(root_ + "/" + name + "/grad_" + module + "/" + param + ".npy"), 1e-3, 1e-5));
      }
  }
}

TEST(GenerativeModels, BadInputIsOneClearError) {
  test::expect_error<ValueError>([] { models::VAEImpl(ImageInput{.image_size = {30, 30}}); }, {"vae", "divisible by 4", "30x30"});
  test::expect_error<ValueError>([] { models::DCGANGeneratorImpl(ImageInput{.image_size = {27, 28}}); }, {"generator", "multiples of 4"});
  models::VAEImpl conditional(ImageInput{}, {.num_classes = 10});
  test::expect_error<ValueError>([&] { conditional.encode(zeros({2, 1, 28, 28})); }, {"vae", "encode", "needs the labels"});
  test::expect_error<ShapeError>([&] { conditional.encode(zeros({2, 1, 28, 28}), tensor({1})); },
                                 {"one label per image", "2 images"});
  models::DCGANGeneratorImpl g(ImageInput{}, {.num_classes = 10});
  test::expect_error<ValueError>([&] { g.sample(3); }, {"generator", "needs the labels"});
  EXPECT_EQ(g.sample(3, tensor({0, 1, 2})).sizes(), Dims({3, 1, 28, 28}));
}

}  // namespace
}  // namespace cajal
