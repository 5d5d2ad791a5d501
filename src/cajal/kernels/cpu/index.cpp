#include "cajal/kernels/cpu/index.h"

#include "cajal/core/strided.h"
#include "cajal/kernels/cpu/loops.h"

namespace cajal::kernels {

namespace {

// t's storage and offset seen through other sizes and strides, so the loop engine can walk
// an index's shape over a tensor that is larger or laid out differently.
Tensor restrided(const Tensor& t, const Dims& sizes, const Dims& strides) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = t.impl()->storage;
  impl->sizes = sizes;
  impl->strides = strides;
  impl->offset = t.offset();
  impl->dtype = t.dtype();
  return Tensor(std::move(impl));
}

// t restrided to `sizes` with stride 0 along `dim`: each position points at the start of
// the line along `dim` that its index picks from; the kernel adds index * stride itself.
Tensor line_starts(const Tensor& t, const Dims& sizes, int64_t dim) {
  Dims strides = t.strides();
  strides[dim] = 0;
  return restrided(t, sizes, strides);
}

int64_t index_at(const char* p) { return *reinterpret_cast<const int64_t*>(p); }

template <typename T>
bool is_nonzero(T v) {
  if constexpr (std::is_same_v<T, bf16>) return static_cast<float>(v) != 0.0f;
  else return v != T(0);
}

// Calls fn(position) with the row-major position of each nonzero element of x.
template <typename F>
void for_each_nonzero(const Tensor& x, F&& fn) {
  dispatch(x.dtype(), [&]<typename T>() {
    const T* data = static_cast<const T*>(x.raw_data());
    int64_t position = 0;
    for_each_offset(x.sizes(), x.strides(), [&](int64_t off) {
      if (is_nonzero(data[off])) fn(position);
      ++position;
    });
  });
}

}  // namespace

void gather(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out) {
  Tensor lines = line_starts(x, out.sizes(), dim);
  auto loop = make_loop<3>(out.sizes(), {&out, &index, &lines});
  dispatch(x.dtype(), [&]<typename T>() {
    int64_t step = x.strides()[dim] * static_cast<int64_t>(sizeof(T));  // bytes between elements along dim
    run_loop(loop, [step](char** p, const int64_t* s, int64_t n) {
      for (int64_t i = 0; i < n; ++i)
        *reinterpret_cast<T*>(p[0] + i * s[0]) =
            *reinterpret_cast<const T*>(p[2] + i * s[2] + index_at(p[1] + i * s[1]) * step);
    });
  });
}

void scatter(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src, ScatterReduce reduce) {
  if (index.numel() == 0) return;
  Tensor lines = line_starts(out, index.sizes(), dim);
  Tensor source = restrided(src, index.sizes(), src.strides());
  auto loop = make_loop<3>(index.sizes(), {&lines, &index, &source});
  dispatch(out.dtype(), [&]<typename T>() {
    int64_t step = out.strides()[dim] * static_cast<int64_t>(sizeof(T));
    auto inner = [step, reduce](char** p, const int64_t* s, int64_t n) {
      for (int64_t i = 0; i < n; ++i) {
        T& target = *reinterpret_cast<T*>(p[0] + i * s[0] + index_at(p[1] + i * s[1]) * step);
        T value = *reinterpret_cast<const T*>(p[2] + i * s[2]);
        target = reduce == ScatterReduce::Add ? static_cast<T>(target + value) : value;
      }
    };
    run_range(loop, 0, index.numel(), inner);  // serial: two positions may hit one target
  });
}

std::optional<int64_t> first_out_of_range(const Tensor& index, int64_t size) {
  const int64_t* data = index.data_ptr<int64_t>();
  std::optional<int64_t> bad;
  for_each_offset(index.sizes(), index.strides(), [&](int64_t off) {
    if (!bad && (data[off] < 0 || data[off] >= size)) bad = data[off];
  });
  return bad;
}

int64_t count_nonzero(const Tensor& x) {
  int64_t count = 0;
  for_each_nonzero(x, [&](int64_t) { ++count; });
  return count;
}

void nonzero(const Tensor& x, const Tensor& out) {
  const Dims& sizes = x.sizes();
  int64_t* row = out.data_ptr<int64_t>();
  for_each_nonzero(x, [&](int64_t position) {
    for (size_t d = sizes.size(); d-- > 0;) {
      row[d] = position % sizes[d];
      position /= sizes[d];
    }
    row += sizes.size();
  });
}

}  // namespace cajal::kernels
