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

void sum_channels(const Tensor& g, const Tensor& out) {
  int64_t batch = g.size(0), channels = g.size(1), planes = batch * channels;
  int64_t plane = planes == 0 ? 0 : g.numel() / planes;
  dispatch_floating(g.dtype(), "sum_channels", [&]<typename T>() {
    const T* data = g.data_ptr<T>();
    T* sums = out.data_ptr<T>();
    parallel_for(0, channels, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, batch * plane)), [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) {
        // Independent partial sums (lanes), so the loop vectorizes.
        constexpr int kLanes = 16;
        T lanes[kLanes] = {};
        for (int64_t n = 0; n < batch; ++n) {
          const T* row = data + (n * channels + c) * plane;
          int64_t j = 0;
          for (; j + kLanes <= plane; j += kLanes)
            for (int l = 0; l < kLanes; ++l) lanes[l] += row[j + l];
          for (; j < plane; ++j) lanes[j % kLanes] += row[j];
        }
        T sum = 0;
        for (T lane : lanes) sum += lane;
        sums[c] = sum;
      }
    });
  });
}

}  // namespace cajal::kernels
