#include "cajal/data/image_folder.h"

#include <algorithm>
#include <filesystem>

#include "cajal/data/image.h"
#include "cajal/ops/creation.h"

namespace cajal::data {

namespace fs = std::filesystem;

namespace {

bool is_image_file(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

std::vector<std::string> sorted_image_files(const fs::path& folder) {
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(folder))
    if (entry.is_regular_file() && is_image_file(entry.path())) files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

ImageFolderDataset::ImageFolderDataset(std::string root, ImageFolderOptions options)
    : root_(std::move(root)), options_(options) {
  if (options_.channels != 1 && options_.channels != 3)
    fail<ValueError>("ImageFolderDataset: channels must be 1 or 3, got ", options_.channels);
  if (options_.height < 0 || options_.width < 0 || (options_.height == 0) != (options_.width == 0))
    fail<ValueError>("ImageFolderDataset: height and width must both be positive, or both 0 to keep sizes; got ",
                     options_.height, "x", options_.width);
  if (!fs::is_directory(root_)) fail<IOError>("ImageFolderDataset: ", root_, ": no such folder");

  for (const auto& entry : fs::directory_iterator(root_))
    if (entry.is_directory()) classes_.push_back(entry.path().filename().string());
  std::sort(classes_.begin(), classes_.end());
  if (classes_.empty()) fail<IOError>("ImageFolderDataset: ", root_, ": no class sub-folders");

  for (size_t k = 0; k < classes_.size(); ++k) {
    const fs::path folder = fs::path(root_) / classes_[k];
    const std::vector<std::string> files = sorted_image_files(folder);
    if (files.empty()) fail<IOError>("ImageFolderDataset: ", folder.string(), ": no PNG, JPEG or BMP files for class '", classes_[k], "'");
    for (const std::string& file : files) {
      infos_.push_back(read_image_info(file));  // throws for an unreadable image
      files_.push_back(file);
      labels_.push_back(static_cast<int64_t>(k));
    }
  }
}

Example ImageFolderDataset::get(int64_t index) const {
  check_index(*this, index);
  Tensor image = read_image(files_[index], options_.channels);
  if (options_.height > 0) image = resize_image(image, options_.height, options_.width);
  return {image, scalar_tensor(labels_[index], DType::i64)};
}

std::string ImageFolderDataset::describe() const {
  return detail::concat("ImageFolderDataset(", root_, ": ", size(), " images in ", classes_.size(), " classes)");
}

std::shared_ptr<const ImageFolderDataset> load_image_folder(const std::string& root, const ImageFolderOptions& options) {
  return std::make_shared<ImageFolderDataset>(root, options);
}

}  // namespace cajal::data
