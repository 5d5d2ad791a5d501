#pragma once
// Image classification data laid out as one sub-folder per class (torchvision's ImageFolder):
//
//   root/cat/001.png, root/cat/002.jpg, root/dog/a.bmp, ...
//
// Classes are the sub-folder names in sorted order (class k is classes()[k]); files are
// the PNG, JPEG and BMP files under each (recursively), in sorted path order. Images are
// decoded when asked for (get), so the DataLoader's workers do the decoding.
#include <string>
#include <vector>

#include "cajal/data/dataset.h"
#include "cajal/data/image.h"

namespace cajal::data {

struct ImageFolderOptions {
  int64_t channels = 3;  // 1: grayscale, 3: RGB
  // Resize every image to height x width (bilinear); 0 and 0 keep each image's size
  // (batching then needs images of one size).
  int64_t height = 0;
  int64_t width = 0;
};

// Examples: input float32 [channels, H, W] in [0, 1], target int64 class index.
class ImageFolderDataset : public Dataset {
 public:
  // Lists the files and reads each one's header, so a missing folder, a class without
  // images or an unreadable file is an IOError naming it now rather than mid-training.
  explicit ImageFolderDataset(std::string root, ImageFolderOptions options = {});
  int64_t size() const override { return static_cast<int64_t>(files_.size()); }
  Example get(int64_t index) const override;
  std::string describe() const override;

  const std::vector<std::string>& classes() const { return classes_; }
  const std::string& file(int64_t index) const { return files_.at(static_cast<size_t>(index)); }
  int64_t label(int64_t index) const { return labels_.at(static_cast<size_t>(index)); }
  // The file's size as its header states it (before any resize).
  const ImageInfo& image_info(int64_t index) const { return infos_.at(static_cast<size_t>(index)); }

 private:
  std::string root_;
  ImageFolderOptions options_;
  std::vector<std::string> classes_;
  std::vector<std::string> files_;
  std::vector<int64_t> labels_;
  std::vector<ImageInfo> infos_;
};

std::shared_ptr<const ImageFolderDataset> load_image_folder(const std::string& root, const ImageFolderOptions& options = {});

}  // namespace cajal::data
