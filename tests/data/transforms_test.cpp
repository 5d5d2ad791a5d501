// Transforms: geometry checked exactly on small hand-made images, affine and normalize
// against torchvision's formulas around torch (tests/reference/transforms_reference.py),
// channel statistics against NumPy, random transforms by their statistics and their
// reproducibility per seed, target encodings against cross_entropy's label smoothing, and
// mixup/cutmix label weights against the mixed pixels.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cajal/data/transforms.h"
#include "cajal/ops/loss.h"
#include "support/test_support.h"

namespace cajal::data {
namespace {

// Runs a per-example transform on an image (the target is a dummy class index).
Tensor apply(const Transform& t, const Tensor& image, uint64_t seed) {
  Generator gen(seed);
  return t(Example{image, scalar_tensor(0, DType::i64)}, gen).input;
}

bool equal(const Tensor& a, const Tensor& b) {
  return a.sizes() == b.sizes() && a.to_vector<double>() == b.to_vector<double>();
}

// A [rows, cols] float image from row-major values.
Tensor image2d(std::vector<float> values, int64_t rows, int64_t cols) { return from_vector(values, {rows, cols}); }

// Same seed, same output; across a few seeds, at least two different outputs.
void expect_seeded(const Transform& t, const Tensor& image) {
  EXPECT_TRUE(equal(apply(t, image, 11), apply(t, image, 11)));
  bool differs = false;
  for (uint64_t seed = 12; seed < 20; ++seed) differs = differs || !equal(apply(t, image, 11), apply(t, image, seed));
  EXPECT_TRUE(differs) << "eight seeds gave the same output";
}

// ------------------------------------------------------------------ flip and crop

TEST(Transforms, HflipReversesColumns) {
  Tensor image = test::iota({2, 3, 4});
  Tensor out = hflip(image);
  for (int64_t c = 0; c < 2; ++c)
    for (int64_t r = 0; r < 3; ++r)
      for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(out.at<float>({c, r, j}), image.at<float>({c, r, 3 - j}));
  EXPECT_TRUE(equal(hflip(image2d({1, 2, 3, 4}, 2, 2)), image2d({2, 1, 4, 3}, 2, 2)));
}

TEST(Transforms, RandomHorizontalFlipProbability) {
  Tensor image = image2d({1, 2, 3, 4, 5, 6}, 2, 3), flipped = hflip(image);
  EXPECT_TRUE(equal(apply(RandomHorizontalFlip(1.0), image, 3), flipped));
  EXPECT_TRUE(equal(apply(RandomHorizontalFlip(0.0), image, 3), image));
  int flips = 0, trials = 2000;
  for (int s = 0; s < trials; ++s) flips += equal(apply(RandomHorizontalFlip(0.3), image, s), flipped);
  EXPECT_NEAR(flips / double(trials), 0.3, 0.04);  // 4 standard deviations
  expect_seeded(RandomHorizontalFlip(), image);
}

// The windows of a padded 3 x 3 image: every crop must be one of them, and all must occur.
void expect_crops_are_windows(const RandomCrop& crop, const Tensor& image, const Tensor& padded, int64_t size) {
  std::set<std::pair<int64_t, int64_t>> seen;
  int64_t span = padded.size(-1) - size + 1;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    Tensor out = apply(crop, image, seed);
    ASSERT_EQ(out.sizes(), (Dims{1, size, size}));
    bool found = false;
    for (int64_t top = 0; top < span; ++top)
      for (int64_t left = 0; left < span; ++left)
        if (equal(out, padded.slice(-2, top, top + size).slice(-1, left, left + size))) {
          found = true;
          seen.insert({top, left});
        }
    ASSERT_TRUE(found) << "seed " << seed << " gave a crop that is no window of the padded image: " << out;
  }
  EXPECT_EQ(static_cast<int64_t>(seen.size()), span * span);
}

TEST(Transforms, RandomCropShowsZeroPadding) {
  Tensor image = image2d({1, 2, 3, 4, 5, 6, 7, 8, 9}, 3, 3).unsqueeze(0);
  Tensor padded = image2d({0, 0, 0, 0, 0,  //
                           0, 1, 2, 3, 0,  //
                           0, 4, 5, 6, 0,  //
                           0, 7, 8, 9, 0,  //
                           0, 0, 0, 0, 0},
                          5, 5)
                      .unsqueeze(0);
  expect_crops_are_windows(RandomCrop(3, {.padding = 1}), image, padded, 3);
  // A crop of the padded size is the whole padded image.
  EXPECT_TRUE(equal(apply(RandomCrop(5, {.padding = 1}), image, 0), padded));
  // The fill value, and [H, W] images.
  Tensor filled = apply(RandomCrop(5, {.padding = 1, .fill = -1}), image.squeeze(0), 0);
  EXPECT_EQ(filled.sizes(), (Dims{5, 5}));
  EXPECT_EQ(filled.at<float>({0, 0}), -1.0f);
  EXPECT_EQ(filled.at<float>({2, 2}), 5.0f);
}

TEST(Transforms, RandomCropShowsReflectPadding) {
  Tensor image = image2d({1, 2, 3, 4, 5, 6, 7, 8, 9}, 3, 3).unsqueeze(0);
  // torch.nn.functional.pad(mode="reflect") mirrors without repeating the edge.
  Tensor padded = image2d({5, 4, 5, 6, 5,  //
                           2, 1, 2, 3, 2,  //
                           5, 4, 5, 6, 5,  //
                           8, 7, 8, 9, 8,  //
                           5, 4, 5, 6, 5},
                          5, 5)
                      .unsqueeze(0);
  expect_crops_are_windows(RandomCrop(3, {.padding = 1, .padding_mode = PadMode::Reflect}), image, padded, 3);
  expect_seeded(RandomCrop(3, {.padding = 1}), image);
}

TEST(Transforms, CropAndRandomCropErrors) {
  Tensor image = test::iota({1, 4, 4});
  test::expect_error<IndexError>([&] { crop(image, 1, 1, 4, 2); }, {"crop", "does not fit", "4 x 4"});
  test::expect_error<ShapeError>([&] { apply(RandomCrop(7, {.padding = 1}), image, 0); },
                                 {"RandomCrop", "[7, 7]", "6 x 6"});
  test::expect_error<ValueError>([&] { RandomCrop(0); }, {"RandomCrop", "positive"});
  test::expect_error<ValueError>([&] { RandomCrop(2, {.padding = -1}); }, {"padding", "-1"});
  test::expect_error<ShapeError>([&] { apply(RandomCrop(2), test::iota({1, 1, 4, 4}), 0); },
                                 {"RandomCrop", "[1, 1, 4, 4]"});
}

// ------------------------------------------------------------------ affine

TEST(Transforms, AffineIdentityLeavesImageUnchanged) {
  static test::NormalSampler normal(5);
  for (DType dtype : {DType::f32, DType::f64}) {
    Tensor image = normal({3, 5, 4}, {.dtype = dtype});
    EXPECT_TRUE(equal(affine(image, 0, {0, 0}, 1), image));
    EXPECT_TRUE(equal(affine(image, 360, {0, 0}, 1), image));
  }
  EXPECT_TRUE(equal(apply(RandomAffine(0), test::iota({2, 3, 3}), 4), test::iota({2, 3, 3})));
}

TEST(Transforms, AffineTranslationShiftsExactly) {
  Tensor image = test::iota({2, 4, 5}) + 1;
  Tensor out = affine(image, 0, {2, -1}, 1);  // 2 columns right, 1 row up
  for (int64_t c = 0; c < 2; ++c)
    for (int64_t y = 0; y < 4; ++y)
      for (int64_t x = 0; x < 5; ++x) {
        int64_t sy = y + 1, sx = x - 2;
        float expected = (sy < 4 && sx >= 0) ? image.at<float>({c, sy, sx}) : 0.0f;
        EXPECT_EQ(out.at<float>({c, y, x}), expected) << "at " << c << ", " << y << ", " << x;
      }
}

TEST(Transforms, AffineRotation90MovesPixelsClockwise) {
  // A marked pixel at the top middle of a 5 x 5 image goes to the right middle.
  Tensor marked = zeros({5, 5});
  marked.at<float>({0, 2}) = 1;
  Tensor expected = zeros({5, 5});
  expected.at<float>({2, 4}) = 1;
  EXPECT_TRUE(equal(affine(marked, 90, {0, 0}, 1), expected)) << affine(marked, 90, {0, 0}, 1);
  // A clockwise quarter turn is out[r][c] = in[n - 1 - c][r], for odd and even sizes.
  for (int64_t n : {4, 5}) {
    Tensor image = test::iota({n, n}) + 1, out = affine(image, 90, {0, 0}, 1);
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < n; ++c) EXPECT_EQ(out.at<float>({r, c}), image.at<float>({n - 1 - c, r}));
    EXPECT_TRUE(equal(affine(image, -90, {0, 0}, 1), affine(image, 270, {0, 0}, 1)));
  }
}

struct AffineCase {
  std::string id;
  double angle, tx, ty, scale;
};

TEST(Transforms, AffineMatchesTorchvisionGridSample) {
  const std::vector<AffineCase> cases = {{"rotate30", 30, 0, 0, 1},       {"rotate_neg47_shift", -47, 1, -2, 1},
                                         {"zoom_out", 12, 0.5, 0.25, 0.8}, {"zoom_in", -5, -1.5, 0, 1.3},
                                         {"quarter_turn", 90, 0, 0, 1},    {"shift_only", 0, 2, 1, 1}};
  static test::NormalSampler normal(17);
  Tensor image = normal({3, 7, 6}, {.dtype = DType::f64});
  std::string dir = test::temp_dir();
  save_npy(image, dir + "/image_float64.npy");
  save_npy(image.to(DType::f32), dir + "/image_float32.npy");
  {
    std::ofstream list(dir + "/affine_cases.txt");
    list.precision(17);
    for (const AffineCase& c : cases) list << c.id << ' ' << c.angle << ' ' << c.tx << ' ' << c.ty << ' ' << c.scale << '\n';
    std::ofstream(dir + "/normalize.txt") << "0.485 0.456 0.406\n0.229 0.224 0.225\n";
  }
  save_npy(normal({4, 3, 5, 6}, {.dtype = DType::f64}) * 3 + 1, dir + "/images.npy");
  ASSERT_TRUE(test::run_reference("transforms_reference.py", dir));

  for (const AffineCase& c : cases) {
    SCOPED_TRACE(c.id);
    EXPECT_TRUE(test::all_close(affine(image, c.angle, {c.tx, c.ty}, c.scale),
                                load_npy(dir + "/affine_" + c.id + "_float64.npy"), 1e-12, 1e-12));
    EXPECT_TRUE(test::all_close(affine(image.to(DType::f32), c.angle, {c.tx, c.ty}, c.scale),
                                load_npy(dir + "/affine_" + c.id + "_float32.npy"), 1e-4, 1e-5));
  }

  // torchvision's normalize subtracts and divides in float32: the same bits.
  Tensor normalized = normalize(image.to(DType::f32), {0.485, 0.456, 0.406}, {0.229, 0.224, 0.225});
  EXPECT_TRUE(test::all_close(normalized, load_npy(dir + "/normalize.npy"), 0, 0));

  ChannelStats stats = channel_stats(load_npy(dir + "/images.npy"));
  EXPECT_TRUE(test::all_close(from_vector(stats.mean), load_npy(dir + "/stats_mean.npy"), 1e-12));
  EXPECT_TRUE(test::all_close(from_vector(stats.std), load_npy(dir + "/stats_std.npy"), 1e-12));
}

TEST(Transforms, RandomAffineDrawsWholePixelShifts) {
  Tensor image = test::iota({1, 8, 8}) + 1;
  RandomAffine shift(0, {.translate = {0.25, 0.25}});  // up to 2 pixels each way
  std::set<std::pair<int64_t, int64_t>> seen;
  for (uint64_t seed = 0; seed < 100; ++seed) {
    Tensor out = apply(shift, image, seed);
    bool found = false;
    for (int64_t dx = -2; dx <= 2 && !found; ++dx)
      for (int64_t dy = -2; dy <= 2 && !found; ++dy)
        if (equal(out, affine(image, 0, {double(dx), double(dy)}, 1))) {
          found = true;
          seen.insert({dx, dy});
        }
    ASSERT_TRUE(found) << "seed " << seed << " shifted by no whole number of pixels within 2";
  }
  EXPECT_GT(seen.size(), 15u);  // most of the 25 shifts occur
  expect_seeded(RandomAffine(30, {.translate = {0.1, 0.1}, .scale = {0.9, 1.1}}), image);
  // Rotation only keeps the center pixel of an odd image (up to rounding).
  Tensor odd = test::iota({1, 5, 5});
  for (uint64_t seed = 0; seed < 10; ++seed) EXPECT_NEAR(apply(RandomAffine(45), odd, seed).at<float>({0, 2, 2}), 12, 1e-4);
}

TEST(Transforms, AffineErrors) {
  test::expect_error<ValueError>([] { affine(zeros({3, 3}), 0, {0, 0}, 0); }, {"affine", "scale", "0"});
  test::expect_error<DTypeError>([] { affine(zeros({3, 3}, {.dtype = DType::u8}), 0, {0, 0}, 1); },
                                 {"affine", "floating point", "uint8"});
  test::expect_error<ValueError>([] { RandomAffine(-3); }, {"RandomAffine", "degrees", "-3"});
  test::expect_error<ValueError>([] { RandomAffine({10, -10}); }, {"RandomAffine", "degrees"});
  test::expect_error<ValueError>([] { RandomAffine(0, {.translate = {1.5, 0}}); }, {"translate", "1.5"});
  test::expect_error<ValueError>([] { RandomAffine(0, {.scale = {0, 1}}); }, {"scale", "positive"});
}

// ------------------------------------------------------------------ normalize and statistics

TEST(Transforms, NormalizeHandComputed) {
  Tensor image = from_vector(std::vector<float>{0.5f, 1.0f, 0.25f, 0.75f}, {2, 1, 2});
  Tensor out = apply(Normalize({0.5, 0.25}, {0.5, 0.25}), image, 0);
  EXPECT_TRUE(equal(out, from_vector(std::vector<float>{0.0f, 1.0f, 0.0f, 2.0f}, {2, 1, 2})));
  // One mean and std for every channel; [H, W] images keep their shape; float64 stays float64.
  EXPECT_TRUE(equal(normalize(image, {0.5}, {2}), (image - 0.5) / 2));
  Tensor gray = test::f64({0, 1, 2, 3}, {2, 2});
  Tensor g = normalize(gray, {1}, {4});
  EXPECT_EQ(g.dtype(), DType::f64);
  EXPECT_TRUE(equal(g, test::f64({-0.25, 0, 0.25, 0.5}, {2, 2})));
}

TEST(Transforms, NormalizeErrors) {
  test::expect_error<ValueError>([] { Normalize({0.5, 0.5}, {0.2, 0}); }, {"Normalize", "channel 1", "zero"});
  test::expect_error<ValueError>([] { Normalize({0.5}, {0.2, 0.3}); }, {"Normalize", "1", "2"});
  test::expect_error<ShapeError>([] { normalize(zeros({3, 2, 2}), {0, 0}, {1, 1}); }, {"normalize", "2", "3 channels"});
  test::expect_error<DTypeError>([] { normalize(zeros({2, 2}, {.dtype = DType::u8}), {0}, {1}); },
                                 {"normalize", "uint8"});
}

TEST(Transforms, ChannelStatsOfTensorsAndDatasets) {
  // Channel 0 holds 0..7, channel 1 holds 1 and 3 alternately: hand-computed statistics.
  Tensor images = zeros({2, 2, 2, 2});
  for (int64_t i = 0; i < 8; ++i) {
    int64_t n = i / 4, y = (i / 2) % 2, x = i % 2;
    images.at<float>({n, 0, y, x}) = float(i);
    images.at<float>({n, 1, y, x}) = i % 2 ? 3.0f : 1.0f;
  }
  ChannelStats stats = channel_stats(images);
  ASSERT_EQ(stats.mean.size(), 2u);
  EXPECT_DOUBLE_EQ(stats.mean[0], 3.5);
  EXPECT_DOUBLE_EQ(stats.std[0], std::sqrt(5.25));  // population variance of 0..7
  EXPECT_DOUBLE_EQ(stats.mean[1], 2.0);
  EXPECT_DOUBLE_EQ(stats.std[1], 1.0);
  // The same through a dataset, and one channel from [N, H, W].
  ChannelStats from_dataset = channel_stats(*tensor_dataset(images, zeros({2}, {.dtype = DType::i64})));
  EXPECT_EQ(from_dataset.mean, stats.mean);
  EXPECT_EQ(from_dataset.std, stats.std);
  ChannelStats gray = channel_stats(images.select(1, 0));
  EXPECT_DOUBLE_EQ(gray.mean[0], 3.5);
  // Normalizing with them gives mean 0 and std 1 per channel.
  Tensor normalized = apply(Normalize(stats), images[0], 0);
  EXPECT_NEAR(normalized[0].mean().item(), -2 / std::sqrt(5.25), 1e-6);  // image 0 holds 0..3

  test::expect_error<ShapeError>([] { channel_stats(zeros({2, 2})); }, {"channel_stats", "[2, 2]"});
  test::expect_error<ValueError>([] { channel_stats(zeros({0, 1, 2, 2})); }, {"channel_stats", "no pixels"});
}

// ------------------------------------------------------------------ noise and erasing

TEST(Transforms, GaussianNoiseStatistics) {
  Tensor image = full({1, 100, 100}, 2.0);
  Tensor noise = apply(GaussianNoise(0.3), image, 1) - 2.0;
  double mean = noise.mean().item(), stddev = std::sqrt(noise.square().mean().item() - mean * mean);
  EXPECT_NEAR(mean, 0.0, 4 * 0.3 / 100);
  EXPECT_NEAR(stddev, 0.3, 0.01);
  EXPECT_TRUE(equal(apply(GaussianNoise(0), image, 1), image));
  expect_seeded(GaussianNoise(0.1), image);
  test::expect_error<ValueError>([] { GaussianNoise(-1); }, {"GaussianNoise", "-1"});
}

// The erased rectangle of an image that was all `background`: {top, left, height, width},
// checking that the changed pixels fill exactly that rectangle in every channel.
struct Box {
  int64_t top = 0, left = 0, height = 0, width = 0;
};
Box erased_box(const Tensor& out, float background) {
  int64_t rows = out.size(1), cols = out.size(2);
  int64_t top = rows, left = cols, bottom = -1, right = -1, changed = 0;
  for (int64_t c = 0; c < out.size(0); ++c)
    for (int64_t y = 0; y < rows; ++y)
      for (int64_t x = 0; x < cols; ++x)
        if (out.at<float>({c, y, x}) != background) {
          ++changed;
          top = std::min(top, y), left = std::min(left, x), bottom = std::max(bottom, y), right = std::max(right, x);
        }
  if (changed == 0) return {};
  Box box{top, left, bottom - top + 1, right - left + 1};
  EXPECT_EQ(changed, out.size(0) * box.height * box.width) << "the changed pixels are not one rectangle";
  return box;
}

TEST(Transforms, RandomErasingFrequencyAndShape) {
  RandomErasingOptions options{.p = 0.3, .scale = {0.02, 0.33}, .ratio = {0.3, 3.3}};
  RandomErasing erasing(options);
  Tensor image = ones({3, 20, 20});
  int erased = 0, trials = 2000;
  for (int s = 0; s < trials; ++s) {
    Box box = erased_box(apply(erasing, image, s), 1.0f);
    if (box.height == 0) continue;
    ++erased;
    double h = double(box.height), w = double(box.width), area = 400;
    // h and w are round(sqrt(A r)) and round(sqrt(A / r)) for an area A in scale * 400 and
    // a ratio r in the ratio range, and must fit inside the image.
    EXPECT_LT(box.height, 20);
    EXPECT_LT(box.width, 20);
    EXPECT_LE((h - 0.5) * (w - 0.5), options.scale[1] * area);
    EXPECT_GE((h + 0.5) * (w + 0.5), options.scale[0] * area);
    EXPECT_LE((h - 0.5) / (w + 0.5), options.ratio[1]);
    EXPECT_GE((h + 0.5) / (w - 0.5), options.ratio[0]);
  }
  EXPECT_NEAR(erased / double(trials), 0.3, 0.04);  // 4 standard deviations
  expect_seeded(RandomErasing({.p = 1}), image);
  EXPECT_TRUE(equal(apply(RandomErasing({.p = 0}), image, 0), image));
}

TEST(Transforms, RandomErasingAreaFollowsScale) {
  // Square rectangles on a large image always fit: the erased fraction is uniform in scale.
  RandomErasing erasing({.p = 1, .scale = {0.1, 0.2}, .ratio = {1, 1}});
  Tensor image = ones({1, 100, 100});
  double total = 0;
  int trials = 400;
  for (int s = 0; s < trials; ++s) {
    Box box = erased_box(apply(erasing, image, s), 1.0f);
    double fraction = double(box.height * box.width) / 1e4;
    EXPECT_EQ(box.height, box.width);
    EXPECT_GT(fraction, 0.095);
    EXPECT_LT(fraction, 0.205);
    total += fraction;
  }
  EXPECT_NEAR(total / trials, 0.15, 0.003);  // uniform(0.1, 0.2): sd 0.029 / sqrt(400) = 0.0014
}

TEST(Transforms, RandomErasingRandomValuesAreNormal) {
  RandomErasing erasing({.p = 1, .value = std::nullopt});
  Tensor image = full({2, 30, 30}, 100.0);
  double sum = 0, sum_sq = 0;
  int64_t count = 0;
  for (int s = 0; s < 100; ++s) {
    Tensor out = apply(erasing, image, s);
    for (float v : out.to_vector<float>())
      if (v != 100.0f) sum += v, sum_sq += double(v) * v, ++count;
  }
  ASSERT_GT(count, 5000);
  double mean = sum / count;
  EXPECT_NEAR(mean, 0.0, 0.05);
  EXPECT_NEAR(std::sqrt(sum_sq / count - mean * mean), 1.0, 0.05);
  test::expect_error<ValueError>([] { RandomErasing({.scale = {0.5, 0.1}}); }, {"RandomErasing", "scale"});
  test::expect_error<ValueError>([] { RandomErasing({.p = 2}); }, {"RandomErasing", "2"});
}

// ------------------------------------------------------------------ targets

Tensor target_of(const Transform& t, const Tensor& target) {
  Generator gen(0);
  return t(Example{zeros({1, 2, 2}), target}, gen).target;
}

TEST(Transforms, OneHotAndLabelSmoothing) {
  Tensor one_hot = target_of(OneHot(4), scalar_tensor(2, DType::i64));
  EXPECT_EQ(one_hot.dtype(), DType::f32);
  EXPECT_TRUE(equal(one_hot, tensor({0.f, 0.f, 1.f, 0.f})));

  Compose smooth({OneHot(5), LabelSmoothing(0.1)});
  Tensor smoothed = target_of(smooth, scalar_tensor(3, DType::i64));
  EXPECT_TRUE(test::all_close(smoothed, tensor({0.02f, 0.02f, 0.02f, 0.92f, 0.02f}), 1e-6));
  // PyTorch's cross_entropy(label_smoothing=eps) equals the loss against this soft target.
  static test::NormalSampler normal(3);
  Tensor logits = normal({1, 5});
  EXPECT_TRUE(test::all_close(cross_entropy(logits, smoothed.unsqueeze(0)),
                              cross_entropy(logits, tensor({3}), {.label_smoothing = 0.1}), 1e-6));

  test::expect_error<IndexError>([] { target_of(OneHot(4), scalar_tensor(4, DType::i64)); }, {"one_hot", "4"});
  test::expect_error<ShapeError>([] { target_of(OneHot(4), tensor({1, 2})); }, {"OneHot", "[2]"});
  test::expect_error<ShapeError>([] { target_of(LabelSmoothing(0.1), scalar_tensor(1, DType::i64)); },
                                 {"LabelSmoothing", "OneHot"});
  test::expect_error<ValueError>([] { LabelSmoothing(1.5); }, {"LabelSmoothing", "1.5"});
}

// ------------------------------------------------------------------ composing and datasets

TEST(Transforms, ComposeAppliesInOrder) {
  Transform times_two = [](Example e, Generator&) { return Example{e.input * 2, e.target}; };
  Transform plus_one = [](Example e, Generator&) { return Example{e.input + 1, e.target}; };
  Tensor x = tensor({1.f, 2.f});
  EXPECT_TRUE(equal(apply(Compose({times_two, plus_one}), x, 0), tensor({3.f, 5.f})));
  EXPECT_TRUE(equal(apply(Compose({plus_one, times_two}), x, 0), tensor({4.f, 6.f})));
  test::expect_error<ValueError>([] { Compose({Transform{}}); }, {"Compose", "transform 0"});
}

TEST(Transforms, AugmentedDatasetIsReproduciblePerSeed) {
  Compose augment({RandomCrop(8, {.padding = 2, .padding_mode = PadMode::Reflect}), RandomHorizontalFlip(),
                   RandomAffine(15, {.translate = {0.1, 0.1}, .scale = {0.9, 1.1}}), GaussianNoise(0.05),
                   RandomErasing(), Normalize({0.5}, {0.25}), OneHot(3), LabelSmoothing(0.1)});
  static test::NormalSampler normal(8);
  DatasetPtr base = tensor_dataset(normal({5, 1, 8, 8}), tensor({0, 1, 2, 1, 0}));
  DatasetPtr a = transform(base, augment, 7), b = transform(base, augment, 7), c = transform(base, augment, 8);
  for (int64_t i = 0; i < 5; ++i) {
    Example ea = a->get_in_epoch(i, 1), eb = b->get_in_epoch(i, 1);
    EXPECT_TRUE(equal(ea.input, eb.input));
    EXPECT_TRUE(equal(ea.target, eb.target));
    EXPECT_FALSE(equal(ea.input, c->get_in_epoch(i, 1).input)) << "seeds 7 and 8 gave the same example " << i;
    EXPECT_FALSE(equal(ea.input, a->get_in_epoch(i, 2).input)) << "epochs 1 and 2 gave the same example " << i;
  }
}

// ------------------------------------------------------------------ mixup and cutmix

TEST(Transforms, SampleBetaMoments) {
  struct Params {
    double a, b;
  };
  for (Params p : {Params{0.2, 0.2}, Params{1, 1}, Params{3, 3}, Params{2, 5}}) {
    SCOPED_TRACE(testing::Message() << "Beta(" << p.a << ", " << p.b << ")");
    Generator gen(99);
    int n = 20000;
    double sum = 0, sum_sq = 0;
    for (int i = 0; i < n; ++i) {
      double x = sample_beta(p.a, p.b, gen);
      ASSERT_TRUE(x >= 0 && x <= 1) << x;
      sum += x, sum_sq += x * x;
    }
    double mean = sum / n, var = sum_sq / n - mean * mean;
    double s = p.a + p.b, true_mean = p.a / s, true_var = p.a * p.b / (s * s * (s + 1));
    EXPECT_NEAR(mean, true_mean, 4 * std::sqrt(true_var / n));
    EXPECT_NEAR(var, true_var, 0.05 * true_var);
  }
  Generator gen(1);
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(std::isnan(sample_beta(0.01, 0.01, gen)));
  test::expect_error<ValueError>([&] { sample_beta(0, 1, gen); }, {"sample_beta", "0"});
}

// A batch of n images [n, 1, 6, 6] where image i is the constant 10 * (i + 1), labels i.
Batch constant_batch(int64_t n) {
  Tensor input = empty({n, 1, 6, 6});
  for (int64_t i = 0; i < n; ++i) input[i].fill_(10.0 * (i + 1));
  return {input, arange(n), n};
}

// The partner of row i: the other class with weight in the soft target (i itself if none).
int64_t partner(const Tensor& target, int64_t i) {
  for (int64_t j = 0; j < target.size(1); ++j)
    if (j != i && target.at<float>({i, j}) > 0) return j;
  return i;
}

TEST(Transforms, MixupWeightsEqualLambda) {
  int64_t n = 6;
  Batch batch = constant_batch(n);
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Generator gen(seed);
    Batch mixed = mixup(batch, 0.4, gen, n);
    ASSERT_EQ(mixed.target.sizes(), (Dims{n, n}));
    EXPECT_TRUE(test::all_close(mixed.target.sum({1}), ones({n}), 1e-6));
    std::set<double> lambdas;
    for (int64_t i = 0; i < n; ++i) {
      int64_t j = partner(mixed.target, i);
      double own = mixed.target.at<float>({i, i});
      if (j == i) {
        EXPECT_FLOAT_EQ(own, 1.0f);
        EXPECT_TRUE(test::all_close(mixed.input[i], batch.input[i], 1e-6));  // lambda x + (1 - lambda) x
        continue;
      }
      // Every pixel is own * v_i + (1 - own) * v_j.
      double vi = 10.0 * (i + 1), vj = 10.0 * (j + 1);
      EXPECT_TRUE(test::all_close(mixed.input[i], full({1, 6, 6}, own * vi + (1 - own) * vj), 1e-5));
      EXPECT_NEAR(mixed.target.at<float>({i, j}), 1 - own, 1e-6);  // lambda rounds to float once or twice
      lambdas.insert(std::round(own * 1e5));
    }
    EXPECT_LE(lambdas.size(), 1u) << "one lambda per batch";
  }
  // Probability targets give the same batch as class indices.
  Generator g1(5), g2(5);
  Batch soft{batch.input, one_hot(batch.target, n).to(DType::f32), n};
  Batch from_indices = mixup(batch, 1.0, g1, n), from_probs = mixup(soft, 1.0, g2);
  EXPECT_TRUE(equal(from_indices.input, from_probs.input));
  EXPECT_TRUE(equal(from_indices.target, from_probs.target));

  Generator gen(0);
  test::expect_error<ValueError>([&] { mixup(batch, 0.4, gen); }, {"mixup", "num_classes"});
  test::expect_error<ValueError>([&] { mixup(batch, 0, gen, n); }, {"mixup", "alpha"});
  test::expect_error<ShapeError>([&] { mixup(soft, 1, gen, n + 1); }, {"mixup", "num_classes 7"});
}

TEST(Transforms, CutmixWeightsEqualPastedArea) {
  int64_t n = 4;
  Batch batch = constant_batch(n);
  double pasted_total = 0;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    Generator gen(seed);
    Batch mixed = cutmix(batch, 1.0, gen, n);
    EXPECT_TRUE(test::all_close(mixed.target.sum({1}), ones({n}), 1e-6));
    Box first;
    for (int64_t i = 0; i < n; ++i) {
      int64_t j = partner(mixed.target, i);
      float own_value = 10.0f * (i + 1);
      Box box = erased_box(mixed.input[i], own_value);
      if (j == i) {
        EXPECT_FLOAT_EQ(mixed.target.at<float>({i, i}), 1.0f);
        continue;
      }
      // The pasted pixels all come from the partner, and its label weight is their share.
      int64_t from_partner = 0;
      for (float v : mixed.input[i].to_vector<float>()) from_partner += v == 10.0f * (j + 1);
      EXPECT_EQ(from_partner, box.height * box.width);
      EXPECT_FLOAT_EQ(mixed.target.at<float>({i, j}), float(from_partner / 36.0));
      EXPECT_FLOAT_EQ(mixed.target.at<float>({i, i}), float(1 - from_partner / 36.0));
      if (first.height == 0) first = box;
      EXPECT_TRUE(box.top == first.top && box.left == first.left && box.height == first.height &&
                  box.width == first.width)
          << "one box per batch";
      pasted_total += from_partner;
    }
  }
  EXPECT_GT(pasted_total, 0) << "no seed pasted anything";
  // [N, H, W] inputs work too.
  Generator gen(2);
  EXPECT_EQ(cutmix(Batch{batch.input.squeeze(1), batch.target, n}, 1.0, gen, n).input.sizes(), (Dims{n, 6, 6}));
  test::expect_error<ShapeError>([&] { cutmix(Batch{zeros({4, 6}), batch.target, n}, 1.0, gen, n); },
                                 {"cutmix", "[4, 6]"});
  Generator g1(3), g2(3), g3(4);
  Tensor first_mix = cutmix(batch, 1.0, g1, n).input;
  EXPECT_TRUE(equal(first_mix, cutmix(batch, 1.0, g2, n).input));
  EXPECT_FALSE(equal(first_mix, cutmix(batch, 1.0, g3, n).input));
}

}  // namespace
}  // namespace cajal::data
