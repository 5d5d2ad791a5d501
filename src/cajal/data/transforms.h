#pragma once
// Transforms: per-example augmentation and target encoding, plus the batch-level mixup and
// cutmix. Each transform is a small callable, Example(Example, Generator&), that takes every
// random choice from the Generator it is given, so TransformDataset makes an example's
// augmentation a function of (seed, epoch, index) alone. Compose chains them:
//
//   data::Compose augment({data::RandomCrop(28, {.padding = 4}), data::RandomHorizontalFlip(),
//                          data::Normalize(data::channel_stats(*train)), data::OneHot(10)});
//   auto augmented = data::transform(train, augment, seed);
//
// Images are floating point [C, H, W] or [H, W] (a single channel); transforms touch the
// input only, except OneHot and LabelSmoothing, which touch the target only. Geometry and
// random draws follow torchvision (same parameter ranges and algorithms; the random
// numbers come from cajal's Generator, so the values drawn differ from torch's).
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "cajal/data/dataset.h"
#include "cajal/ops/expanding_array.h"
#include "cajal/ops/shape.h"

namespace cajal::data {

// Applies the transforms in order, each to the previous one's result.
class Compose {
 public:
  explicit Compose(std::vector<Transform> transforms);
  Example operator()(Example example, Generator& gen) const;

 private:
  std::vector<Transform> transforms_;
};

// ---- deterministic image operations (the random transforms draw their arguments) ------

// (image - mean[c]) / std[c] per channel, in the image's dtype (torchvision's normalize);
// one mean and std may stand for every channel.
Tensor normalize(const Tensor& image, const std::vector<double>& mean, const std::vector<double>& std);
// Columns in reverse order.
Tensor hflip(const Tensor& image);
// The window of rows [top, top + height) and columns [left, left + width) of the last two
// dims, which must lie inside the image (a view, no copy).
Tensor crop(const Tensor& image, int64_t top, int64_t left, int64_t height, int64_t width);
// torchvision's affine without shear: rotation by `angle` degrees (clockwise on the screen,
// where rows go down) and scaling by `scale`, both about the image center, then a shift by
// translate = {x (columns), y (rows)} pixels. Each output pixel samples the input at the
// inverse-mapped position bilinearly; taps outside the image read zeros: the values of
// grid_sample(align_corners=False, padding_mode="zeros") on torchvision's grid. (torchvision
// with fill=0 further multiplies each pixel by the in-image share of its taps, darkening the
// border pixels twice; cajal does not.)
Tensor affine(const Tensor& image, double angle, std::array<double, 2> translate, double scale);
// A copy of the image with the window (as for crop) set to `value`, which broadcasts to the
// window's shape: a 0-d tensor, [C, 1, 1] (one per channel) or [C, height, width].
Tensor erase(const Tensor& image, int64_t top, int64_t left, int64_t height, int64_t width, const Tensor& value);

// ---- per-channel statistics -----------------------------------------------------------

// Mean and standard deviation of each channel over all pixels of all images (numpy's
// population std, ddof = 0), computed in double: the arguments Normalize needs.
struct ChannelStats {
  std::vector<double> mean;
  std::vector<double> std;
};
// images [N, C, H, W], or [N, H, W] for one channel; any real dtype.
ChannelStats channel_stats(const Tensor& images);
// Over every example's input ([C, H, W] or [H, W], all with the same channel count),
// without augmentation (Dataset::get).
ChannelStats channel_stats(const Dataset& dataset);

// ---- image transforms -----------------------------------------------------------------

class Normalize {
 public:
  Normalize(std::vector<double> mean, std::vector<double> std);
  explicit Normalize(const ChannelStats& stats) : Normalize(stats.mean, stats.std) {}
  Example operator()(Example example, Generator& gen) const;

 private:
  std::vector<double> mean_, std_;
};

struct RandomCropOptions {
  int64_t padding = 0;  // added on every side before cropping
  PadMode padding_mode = PadMode::Constant;  // Constant (with fill), Reflect or Replicate
  double fill = 0;
};
// Pads the image, then crops a size[0] x size[1] window at a uniformly drawn position
// (top first, then left, as torchvision's RandomCrop).
class RandomCrop {
 public:
  explicit RandomCrop(ExpandingArray<2> size, RandomCropOptions options = {});
  Example operator()(Example example, Generator& gen) const;

 private:
  ExpandingArray<2> size_;
  RandomCropOptions options_;
};

// Flips the image left-right with probability p.
class RandomHorizontalFlip {
 public:
  explicit RandomHorizontalFlip(double p = 0.5);
  Example operator()(Example example, Generator& gen) const;

 private:
  double p_;
};

struct RandomAffineOptions {
  std::array<double, 2> translate = {0, 0};  // largest shift as a fraction of width, height
  std::array<double, 2> scale = {1, 1};      // scale drawn uniformly from this range
};
// affine() with angle uniform in degrees (a range, or d for [-d, d]), shifts uniform in
// +-translate * size rounded to whole pixels, and scale uniform in its range; drawn in
// that order, as torchvision's RandomAffine.
class RandomAffine {
 public:
  explicit RandomAffine(double degrees, RandomAffineOptions options = {});
  explicit RandomAffine(std::array<double, 2> degrees, RandomAffineOptions options = {});
  Example operator()(Example example, Generator& gen) const;

 private:
  std::array<double, 2> degrees_;
  RandomAffineOptions options_;
};

// Adds independent normal noise of standard deviation std to every pixel.
class GaussianNoise {
 public:
  explicit GaussianNoise(double std);
  Example operator()(Example example, Generator& gen) const;

 private:
  double std_;
};

struct RandomErasingOptions {
  double p = 0.5;                            // probability of erasing a rectangle
  std::array<double, 2> scale = {0.02, 0.33};  // erased area as a fraction of the image
  std::array<double, 2> ratio = {0.3, 3.3};    // aspect ratio (height / width) range
  std::optional<double> value = 0.0;         // nullopt: standard normal values per pixel
};
// torchvision's RandomErasing: with probability p, up to 10 tries draw an area (uniform in
// scale) and a log-uniform aspect ratio; the first rectangle that fits inside the image is
// erased at a uniform position. When no try fits, the image is left unchanged.
class RandomErasing {
 public:
  explicit RandomErasing(RandomErasingOptions options = {});
  Example operator()(Example example, Generator& gen) const;

 private:
  RandomErasingOptions options_;
};

// ---- target transforms ----------------------------------------------------------------

// A class index (int64 scalar) becomes a float32 one-hot vector [num_classes].
class OneHot {
 public:
  explicit OneHot(int64_t num_classes);
  Example operator()(Example example, Generator& gen) const;

 private:
  int64_t num_classes_;
};

// A floating class-probability vector [C] (e.g. OneHot's) becomes (1 - eps) t + eps / C,
// the target that cross_entropy's label_smoothing uses.
class LabelSmoothing {
 public:
  explicit LabelSmoothing(double eps);
  Example operator()(Example example, Generator& gen) const;

 private:
  double eps_;
};

// ---- batch-level mixing ---------------------------------------------------------------
// Both pair each example i with example perm[i] of a random permutation and return soft
// targets [N, C]: lambda * target[i] + (1 - lambda) * target[perm[i]]. Targets are class
// indices int64 [N] (then num_classes is required) or probabilities [N, C].

// mixup (Zhang et al. 2018): lambda ~ Beta(alpha, alpha); inputs mix as the targets do.
Batch mixup(const Batch& batch, double alpha, Generator& gen, int64_t num_classes = -1);
// cutmix (Yun et al. 2019), as torchvision's reference scripts: lambda ~ Beta(alpha, alpha);
// a box of half-sides floor(sqrt(1 - lambda) / 2 * W) and (.. * H) centered at a uniformly
// drawn pixel (clipped to the image) is pasted from example perm[i] into every example; the
// targets then mix with lambda = 1 - box area / image area. Inputs [N, ..., H, W].
Batch cutmix(const Batch& batch, double alpha, Generator& gen, int64_t num_classes = -1);

// A Beta(a, b) draw (a, b > 0), through two Gamma draws (Marsaglia and Tsang) in log space
// so that small a and b do not underflow to 0 / 0.
double sample_beta(double a, double b, Generator& gen);

}  // namespace cajal::data
