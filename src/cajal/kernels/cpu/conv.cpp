#include "cajal/kernels/cpu/conv.h"

#include "cajal/core/parallel.h"

namespace cajal::kernels {

void add_channel_bias(const Tensor& out, const Tensor& bias) {
  int64_t channels = out.size(1), planes = out.size(0) * channels;
  int64_t plane = planes == 0 ? 0 : out.numel() / planes;
  dispatch_floating(out.dtype(), "add_channel_bias", [&]<typename T>() {
    T* data = out.data_ptr<T>();
    const T* b = bias.data_ptr<T>();
    parallel_for(0, planes, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, plane)), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        T value = b[i % channels];
        T* row = data + i * plane;
        for (int64_t j = 0; j < plane; ++j) row[j] += value;
      }
    });
  });
}

}  // namespace cajal::kernels
