#include "cajal/io/input_file.h"

#include <filesystem>

#include "cajal/core/error.h"

namespace cajal {

void refuse_special_file(const std::string& path, const std::string& who) {
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (ec || status.type() == std::filesystem::file_type::regular || status.type() == std::filesystem::file_type::not_found)
    return;
  fail<IOError>(who, path, ": not a regular file (",
                status.type() == std::filesystem::file_type::directory ? "a folder" : "a device, pipe or socket",
                "); cajal reads its inputs from files");
}

}  // namespace cajal
