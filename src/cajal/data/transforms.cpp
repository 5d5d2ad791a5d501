#include "cajal/data/transforms.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <utility>

#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/random.h"

namespace cajal::data {

namespace {

// ---- checks and small helpers ----

// The image as [C, H, W]: a [H, W] image is seen as one channel (a view).
Tensor as_chw(const Tensor& image, const char* op) {
  if (!image.defined()) fail<ValueError>(op, ": the example has no input image");
  if (image.dim() != 2 && image.dim() != 3)
    fail<ShapeError>(op, ": expected an image [C, H, W] or [H, W], got shape ", image.sizes());
  return image.dim() == 2 ? image.unsqueeze(0) : image;
}

// Like as_chw, for the operations that compute with pixel values.
Tensor as_float_chw(const Tensor& image, const char* op) {
  Tensor chw = as_chw(image, op);
  if (!image.is_floating_point())
    fail<DTypeError>(op, ": expected a floating point image, got ", dtype_name(image.dtype()),
                     " (convert it with .to(DType::f32) first)");
  return chw;
}

void check_probability(double p, const char* op) {
  if (!(p >= 0 && p <= 1)) fail<ValueError>(op, ": probability p must be in [0, 1], got ", p);
}

void check_range(const std::array<double, 2>& range, const char* op, const char* name) {
  if (!(range[0] <= range[1]))
    fail<ValueError>(op, ": ", name, " range must be (low, high) with low <= high, got (", range[0], ", ", range[1], ")");
}

void check_mean_std(const std::vector<double>& mean, const std::vector<double>& std, const char* op) {
  if (mean.empty() || mean.size() != std.size())
    fail<ValueError>(op, ": expected as many means as standard deviations (at least one), got ", mean.size(),
                     " and ", std.size());
  for (size_t c = 0; c < std.size(); ++c)
    if (std[c] == 0) fail<ValueError>(op, ": std of channel ", c, " is zero, which would divide by zero");
}

double uniform(Generator& gen, double low, double high) { return low + (high - low) * gen.next_double(); }

// Uniform in [0, n).
int64_t uniform_index(Generator& gen, int64_t n) {
  return randint(0, n, {}, {.dtype = DType::i64}, &gen).item<int64_t>();
}

// The per-channel vector as a [C, 1, 1] tensor of the image's dtype, to broadcast over pixels.
Tensor per_channel(const std::vector<double>& values, DType dtype) {
  return from_vector(values, {static_cast<int64_t>(values.size()), 1, 1}, TensorOptions{.dtype = dtype});
}

// cos and sin of an angle in degrees, exact at multiples of 90 so that quarter turns move
// pixels exactly (the radian route gives cos(pi / 2) = 6e-17).
std::pair<double, double> cos_sin_degrees(double degrees) {
  double quarter_turns = degrees / 90.0;
  if (quarter_turns == std::round(quarter_turns)) {
    static constexpr double kCos[] = {1, 0, -1, 0}, kSin[] = {0, 1, 0, -1};
    int64_t q = static_cast<int64_t>(std::fmod(quarter_turns, 4.0));
    q = (q + 4) % 4;
    return {kCos[q], kSin[q]};
  }
  double radians = degrees * std::numbers::pi / 180.0;
  return {std::cos(radians), std::sin(radians)};
}

// Bilinear inverse-mapping loop: output pixel (x, y), centered as (x - cx, y - cy), reads the
// input at center + inverse * (centered - shift). Taps outside the image count as zero.
template <typename T>
void affine_kernel(const T* in, T* out, int64_t channels, int64_t height, int64_t width, double a, double b,
                   double c, double d, double shift_x, double shift_y) {
  double cx = (width - 1) * 0.5, cy = (height - 1) * 0.5;
  int64_t plane = height * width;
  for (int64_t y = 0; y < height; ++y) {
    for (int64_t x = 0; x < width; ++x) {
      double u = x - cx - shift_x, v = y - cy - shift_y;
      double sx = cx + a * u + b * v, sy = cy + c * u + d * v;
      double x0 = std::floor(sx), y0 = std::floor(sy);
      double fx = sx - x0, fy = sy - y0;
      struct Tap {
        int64_t offset;
        double weight;
      };
      Tap taps[4];
      int n_taps = 0;
      for (int dy = 0; dy < 2; ++dy) {
        for (int dx = 0; dx < 2; ++dx) {
          int64_t ix = static_cast<int64_t>(x0) + dx, iy = static_cast<int64_t>(y0) + dy;
          if (ix < 0 || ix >= width || iy < 0 || iy >= height) continue;
          taps[n_taps++] = {iy * width + ix, (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy)};
        }
      }
      for (int64_t ch = 0; ch < channels; ++ch) {
        const T* src = in + ch * plane;
        double sum = 0;
        for (int t = 0; t < n_taps; ++t) sum += taps[t].weight * static_cast<double>(src[taps[t].offset]);
        out[ch * plane + y * width + x] = static_cast<T>(sum);
      }
    }
  }
}

// The image's own shape again after working on its [C, H, W] form.
Tensor like_image(const Tensor& chw, const Tensor& image) { return image.dim() == 2 ? chw.squeeze(0) : chw; }

// Per-channel running mean and sum of squared deviations, merged image by image (Chan et
// al.'s pairwise update), which stays accurate over millions of pixels where plain sums of
// squares lose digits.
class ChannelAccumulator {
 public:
  void add(const Tensor& image, int64_t index) {
    if (!image.defined()) fail<ValueError>("channel_stats: image ", index, " is undefined");
    if (image.dim() != 2 && image.dim() != 3)
      fail<ShapeError>("channel_stats: image ", index, " has shape ", image.sizes(), "; expected [C, H, W] or [H, W]");
    if (image.dtype() == DType::boolean) fail<DTypeError>("channel_stats: image ", index, " is bool; expected numbers");
    Tensor chw = image.dim() == 2 ? image.unsqueeze(0) : image;
    int64_t channels = chw.size(0), pixels = chw.size(1) * chw.size(2);
    if (mean_.empty()) {
      mean_.assign(channels, 0.0);
      m2_.assign(channels, 0.0);
    } else if (channels != static_cast<int64_t>(mean_.size())) {
      fail<ShapeError>("channel_stats: image ", index, " has ", channels, " channels but image 0 has ", mean_.size());
    }
    if (pixels == 0) return;
    Tensor values = chw.to(DType::f64).contiguous();
    const double* p = values.data_ptr<double>();
    double total = static_cast<double>(count_ + pixels);
    for (int64_t c = 0; c < channels; ++c, p += pixels) {
      double mean = 0, m2 = 0;
      for (int64_t i = 0; i < pixels; ++i) mean += p[i];
      mean /= pixels;
      for (int64_t i = 0; i < pixels; ++i) m2 += (p[i] - mean) * (p[i] - mean);
      double delta = mean - mean_[c];
      mean_[c] += delta * pixels / total;
      m2_[c] += m2 + delta * delta * static_cast<double>(count_) * pixels / total;
    }
    count_ += pixels;
  }

  ChannelStats result() const {
    if (count_ == 0) fail<ValueError>("channel_stats: no pixels to average (no images, or empty ones)");
    ChannelStats stats{mean_, {}};
    for (double m2 : m2_) stats.std.push_back(std::sqrt(m2 / static_cast<double>(count_)));
    return stats;
  }

 private:
  int64_t count_ = 0;  // pixels per channel so far
  std::vector<double> mean_, m2_;
};

// log of a Gamma(shape, 1) draw: Marsaglia and Tsang's method for shape >= 1; below 1 the
// boost Gamma(a) = Gamma(a + 1) * U^(1/a), kept in logs because U^(1/a) underflows for small a.
double log_gamma_draw(double shape, Generator& gen) {
  if (shape < 1) {
    double u = 1.0 - gen.next_double();  // in (0, 1]
    return log_gamma_draw(shape + 1, gen) + std::log(u) / shape;
  }
  double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  while (true) {
    double x = gen.next_normal();
    double v = 1.0 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    double u = gen.next_double();
    if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return std::log(d * v);
  }
}

// Class-index targets [N] as one-hot float32 [N, C]; probability targets [N, C] as they are.
Tensor soft_targets(const Batch& batch, int64_t num_classes, const char* op) {
  const Tensor& target = batch.target;
  if (!batch.input.defined() || !target.defined()) fail<ValueError>(op, ": the batch has no input or no target");
  if (batch.input.dim() == 0 || target.dim() == 0 || batch.input.size(0) != target.size(0))
    fail<ShapeError>(op, ": input ", batch.input.sizes(), " and target ", target.sizes(),
                     " must have the same first (batch) dim");
  if (target.dtype() == DType::i64 && target.dim() == 1) {
    if (num_classes <= 0)
      fail<ValueError>(op, ": class-index targets need num_classes (> 0) to become soft targets, got ", num_classes);
    return one_hot(target, num_classes).to(DType::f32);
  }
  if (target.is_floating_point() && target.dim() == 2) {
    if (num_classes != -1 && num_classes != target.size(1))
      fail<ShapeError>(op, ": num_classes ", num_classes, " does not match probability targets ", target.sizes());
    return target;
  }
  fail<ShapeError>(op, ": expected int64 class indices [N] or floating probabilities [N, C] as targets, got ",
                   dtype_name(target.dtype()), " ", target.sizes());
}

// lambda * a + (1 - lambda) * b.
Tensor blend(const Tensor& a, const Tensor& b, double lambda) { return a * lambda + b * (1 - lambda); }

// d as the range [-d, d] (torchvision's degrees=d).
std::array<double, 2> symmetric_degrees(double degrees) {
  if (!(degrees >= 0)) fail<ValueError>("RandomAffine: degrees must be non-negative when given as one number, got ", degrees);
  return {-degrees, degrees};
}

void check_alpha(double alpha, const char* op) {
  if (!(alpha > 0 && std::isfinite(alpha))) fail<ValueError>(op, ": alpha must be positive and finite, got ", alpha);
}

}  // namespace

// ---- Compose ----

Compose::Compose(std::vector<Transform> transforms) : transforms_(std::move(transforms)) {
  for (size_t i = 0; i < transforms_.size(); ++i)
    if (!transforms_[i]) fail<ValueError>("Compose: transform ", i, " is empty");
}

Example Compose::operator()(Example example, Generator& gen) const {
  for (const Transform& t : transforms_) example = t(std::move(example), gen);
  return example;
}

// ---- deterministic image operations ----

Tensor normalize(const Tensor& image, const std::vector<double>& mean, const std::vector<double>& std) {
  Tensor chw = as_float_chw(image, "normalize");
  check_mean_std(mean, std, "normalize");
  int64_t channels = chw.size(0), given = static_cast<int64_t>(mean.size());
  if (given != 1 && given != channels)
    fail<ShapeError>("normalize: ", given, " means and stds for an image of ", channels, " channels (shape ",
                     image.sizes(), ")");
  // Subtract, then divide, both in the image's dtype: the same roundings as torchvision.
  Tensor out = (chw - per_channel(mean, image.dtype())) / per_channel(std, image.dtype());
  return like_image(out, image);
}

Tensor hflip(const Tensor& image) {
  as_chw(image, "hflip");
  return flip(image, {-1});
}

Tensor crop(const Tensor& image, int64_t top, int64_t left, int64_t height, int64_t width) {
  if (!image.defined() || image.dim() < 2)
    fail<ShapeError>("crop: expected an image [..., H, W], got ", image.defined() ? "shape " : "no tensor",
                     image.defined() ? image.sizes() : Dims{});
  int64_t rows = image.size(-2), cols = image.size(-1);
  if (top < 0 || left < 0 || height < 0 || width < 0 || top + height > rows || left + width > cols)
    fail<IndexError>("crop: window (top ", top, ", left ", left, ", height ", height, ", width ", width,
                     ") does not fit inside an image of ", rows, " x ", cols);
  return image.slice(-2, top, top + height).slice(-1, left, left + width);
}

Tensor affine(const Tensor& image, double angle, std::array<double, 2> translate, double scale) {
  Tensor chw = as_float_chw(image, "affine").contiguous();
  if (!(scale > 0 && std::isfinite(scale))) fail<ValueError>("affine: scale must be positive, got ", scale);
  if (!std::isfinite(angle) || !std::isfinite(translate[0]) || !std::isfinite(translate[1]))
    fail<ValueError>("affine: angle ", angle, " and translate (", translate[0], ", ", translate[1],
                     ") must be finite");
  // The forward map rotates by [[cos, -sin], [sin, cos]] and scales; its inverse is the
  // transpose divided by the scale.
  auto [cos_a, sin_a] = cos_sin_degrees(angle);
  double a = cos_a / scale, b = sin_a / scale;
  Tensor out = empty_like(chw);
  dispatch_floating(chw.dtype(), "affine", [&]<typename T>() {
    affine_kernel<T>(chw.data_ptr<T>(), out.data_ptr<T>(), chw.size(0), chw.size(1), chw.size(2), a, b, -b, a,
                     translate[0], translate[1]);
  });
  return like_image(out, image);
}

Tensor erase(const Tensor& image, int64_t top, int64_t left, int64_t height, int64_t width, const Tensor& value) {
  as_chw(image, "erase");
  Tensor out = image.clone();
  crop(as_chw(out, "erase"), top, left, height, width).copy_(value);
  return out;
}

// ---- channel statistics ----

ChannelStats channel_stats(const Tensor& images) {
  if (!images.defined() || (images.dim() != 3 && images.dim() != 4))
    fail<ShapeError>("channel_stats: expected images [N, C, H, W] or [N, H, W], got ",
                     images.defined() ? images.sizes() : Dims{});
  ChannelAccumulator acc;
  for (int64_t i = 0; i < images.size(0); ++i) acc.add(images[i], i);
  return acc.result();
}

ChannelStats channel_stats(const Dataset& dataset) {
  ChannelAccumulator acc;
  for (int64_t i = 0; i < dataset.size(); ++i) acc.add(dataset.get(i).input, i);
  return acc.result();
}

// ---- image transforms ----

Normalize::Normalize(std::vector<double> mean, std::vector<double> std) : mean_(std::move(mean)), std_(std::move(std)) {
  check_mean_std(mean_, std_, "Normalize");
}

Example Normalize::operator()(Example example, Generator& /*gen*/) const {
  example.input = normalize(example.input, mean_, std_);
  return example;
}

RandomCrop::RandomCrop(ExpandingArray<2> size, RandomCropOptions options) : size_(size), options_(options) {
  if (size_[0] <= 0 || size_[1] <= 0) fail<ValueError>("RandomCrop: size must be positive, got ", size_.dims());
  if (options_.padding < 0) fail<ValueError>("RandomCrop: padding must be non-negative, got ", options_.padding);
}

Example RandomCrop::operator()(Example example, Generator& gen) const {
  as_chw(example.input, "RandomCrop");
  int64_t p = options_.padding;
  Tensor padded = p > 0 ? pad(example.input, {p, p, p, p}, options_.padding_mode, options_.fill) : example.input;
  int64_t rows = padded.size(-2), cols = padded.size(-1);
  if (size_[0] > rows || size_[1] > cols)
    fail<ShapeError>("RandomCrop: crop size ", size_.dims(), " is larger than the padded image (", rows, " x ", cols,
                     ")");
  int64_t top = uniform_index(gen, rows - size_[0] + 1);
  int64_t left = uniform_index(gen, cols - size_[1] + 1);
  example.input = crop(padded, top, left, size_[0], size_[1]);
  return example;
}

RandomHorizontalFlip::RandomHorizontalFlip(double p) : p_(p) { check_probability(p, "RandomHorizontalFlip"); }

Example RandomHorizontalFlip::operator()(Example example, Generator& gen) const {
  if (gen.next_double() < p_) example.input = hflip(example.input);
  return example;
}

RandomAffine::RandomAffine(double degrees, RandomAffineOptions options)
    : RandomAffine(symmetric_degrees(degrees), options) {}

RandomAffine::RandomAffine(std::array<double, 2> degrees, RandomAffineOptions options)
    : degrees_(degrees), options_(options) {
  check_range(degrees_, "RandomAffine", "degrees");
  check_range(options_.scale, "RandomAffine", "scale");
  for (double t : options_.translate)
    if (!(t >= 0 && t <= 1)) fail<ValueError>("RandomAffine: translate fractions must be in [0, 1], got ", t);
  if (!(options_.scale[0] > 0)) fail<ValueError>("RandomAffine: scale must be positive, got ", options_.scale[0]);
}

Example RandomAffine::operator()(Example example, Generator& gen) const {
  Tensor chw = as_float_chw(example.input, "RandomAffine");
  double angle = uniform(gen, degrees_[0], degrees_[1]);
  double max_dx = options_.translate[0] * static_cast<double>(chw.size(2));
  double max_dy = options_.translate[1] * static_cast<double>(chw.size(1));
  // Whole-pixel shifts, rounded half to even as Python's round().
  double dx = std::nearbyint(uniform(gen, -max_dx, max_dx));
  double dy = std::nearbyint(uniform(gen, -max_dy, max_dy));
  double scale = uniform(gen, options_.scale[0], options_.scale[1]);
  example.input = affine(example.input, angle, {dx, dy}, scale);
  return example;
}

GaussianNoise::GaussianNoise(double std) : std_(std) {
  if (!(std >= 0 && std::isfinite(std))) fail<ValueError>("GaussianNoise: std must be non-negative, got ", std);
}

Example GaussianNoise::operator()(Example example, Generator& gen) const {
  as_float_chw(example.input, "GaussianNoise");
  example.input = example.input + randn(example.input.sizes(), {.dtype = example.input.dtype()}, &gen) * std_;
  return example;
}

RandomErasing::RandomErasing(RandomErasingOptions options) : options_(options) {
  check_probability(options_.p, "RandomErasing");
  check_range(options_.scale, "RandomErasing", "scale");
  check_range(options_.ratio, "RandomErasing", "ratio");
  if (!(options_.scale[0] >= 0 && options_.scale[1] <= 1))
    fail<ValueError>("RandomErasing: scale must lie in [0, 1], got (", options_.scale[0], ", ", options_.scale[1], ")");
  if (!(options_.ratio[0] > 0)) fail<ValueError>("RandomErasing: ratio must be positive, got ", options_.ratio[0]);
}

Example RandomErasing::operator()(Example example, Generator& gen) const {
  Tensor chw = as_float_chw(example.input, "RandomErasing");
  if (!(gen.next_double() < options_.p)) return example;
  int64_t channels = chw.size(0), rows = chw.size(1), cols = chw.size(2);
  double area = static_cast<double>(rows * cols);
  double log_ratio_low = std::log(options_.ratio[0]), log_ratio_high = std::log(options_.ratio[1]);
  for (int attempt = 0; attempt < 10; ++attempt) {
    double erase_area = area * uniform(gen, options_.scale[0], options_.scale[1]);
    double aspect = std::exp(uniform(gen, log_ratio_low, log_ratio_high));
    auto h = static_cast<int64_t>(std::nearbyint(std::sqrt(erase_area * aspect)));
    auto w = static_cast<int64_t>(std::nearbyint(std::sqrt(erase_area / aspect)));
    if (!(h < rows && w < cols)) continue;
    DType dtype = chw.dtype();
    Tensor value = options_.value ? scalar_tensor(*options_.value, dtype) : randn({channels, h, w}, {.dtype = dtype}, &gen);
    int64_t top = uniform_index(gen, rows - h + 1);
    int64_t left = uniform_index(gen, cols - w + 1);
    example.input = erase(example.input, top, left, h, w, value);
    return example;
  }
  return example;
}

// ---- target transforms ----

OneHot::OneHot(int64_t num_classes) : num_classes_(num_classes) {
  if (num_classes <= 0) fail<ValueError>("OneHot: num_classes must be positive, got ", num_classes);
}

Example OneHot::operator()(Example example, Generator& /*gen*/) const {
  const Tensor& t = example.target;
  if (!t.defined() || t.dtype() != DType::i64 || t.dim() != 0)
    fail<ShapeError>("OneHot: expected a class index (int64 scalar) as target, got ",
                     t.defined() ? detail::concat(dtype_name(t.dtype()), " ", t.sizes()) : "none");
  example.target = one_hot(t, num_classes_).to(DType::f32);
  return example;
}

LabelSmoothing::LabelSmoothing(double eps) : eps_(eps) {
  if (!(eps >= 0 && eps <= 1)) fail<ValueError>("LabelSmoothing: eps must be in [0, 1], got ", eps);
}

Example LabelSmoothing::operator()(Example example, Generator& /*gen*/) const {
  const Tensor& t = example.target;
  if (!t.defined() || !t.is_floating_point() || t.dim() != 1 || t.size(0) == 0)
    fail<ShapeError>("LabelSmoothing: expected class probabilities [C] as target (apply OneHot(num_classes) to class "
                     "indices first), got ",
                     t.defined() ? detail::concat(dtype_name(t.dtype()), " ", t.sizes()) : "none");
  example.target = t * (1 - eps_) + eps_ / static_cast<double>(t.size(0));
  return example;
}

// ---- batch-level mixing ----

double sample_beta(double a, double b, Generator& gen) {
  if (!(a > 0 && b > 0 && std::isfinite(a) && std::isfinite(b)))
    fail<ValueError>("sample_beta: a and b must be positive and finite, got ", a, " and ", b);
  double log_x = log_gamma_draw(a, gen), log_y = log_gamma_draw(b, gen);
  return 1.0 / (1.0 + std::exp(log_y - log_x));  // x / (x + y)
}

Batch mixup(const Batch& batch, double alpha, Generator& gen, int64_t num_classes) {
  check_alpha(alpha, "mixup");
  Tensor targets = soft_targets(batch, num_classes, "mixup");
  if (!batch.input.is_floating_point())
    fail<DTypeError>("mixup: expected floating point inputs, got ", dtype_name(batch.input.dtype()));
  double lambda = sample_beta(alpha, alpha, gen);
  Tensor perm = randperm(batch.input.size(0), &gen);
  return {blend(batch.input, index_select(batch.input, 0, perm), lambda),
          blend(targets, index_select(targets, 0, perm), lambda), batch.size};
}

Batch cutmix(const Batch& batch, double alpha, Generator& gen, int64_t num_classes) {
  check_alpha(alpha, "cutmix");
  Tensor targets = soft_targets(batch, num_classes, "cutmix");
  if (batch.input.dim() < 3)
    fail<ShapeError>("cutmix: expected inputs [N, ..., H, W], got shape ", batch.input.sizes());
  double lambda = sample_beta(alpha, alpha, gen);
  Tensor perm = randperm(batch.input.size(0), &gen);
  int64_t rows = batch.input.size(-2), cols = batch.input.size(-1);
  int64_t center_x = uniform_index(gen, cols), center_y = uniform_index(gen, rows);
  double half = 0.5 * std::sqrt(1 - lambda);
  auto half_w = static_cast<int64_t>(half * static_cast<double>(cols));
  auto half_h = static_cast<int64_t>(half * static_cast<double>(rows));
  int64_t x1 = std::max<int64_t>(center_x - half_w, 0), x2 = std::min(center_x + half_w, cols);
  int64_t y1 = std::max<int64_t>(center_y - half_h, 0), y2 = std::min(center_y + half_h, rows);
  Tensor mixed = batch.input.clone();
  Tensor partners = index_select(batch.input, 0, perm);
  crop(mixed, y1, x1, y2 - y1, x2 - x1).copy_(crop(partners, y1, x1, y2 - y1, x2 - x1));
  // The label weights follow the pixels actually pasted, which clipping may have reduced.
  double kept = 1.0 - static_cast<double>((x2 - x1) * (y2 - y1)) / static_cast<double>(rows * cols);
  return {mixed, blend(targets, index_select(targets, 0, perm), kept), batch.size};
}

}  // namespace cajal::data
