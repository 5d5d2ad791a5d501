#include "cajal/core/tensor.h"

#include "cajal/core/strided.h"

namespace cajal {

Tensor make_tensor(const Dims& sizes, DType dtype) {
  for (int64_t s : sizes)
    if (s < 0) fail<ShapeError>("tensor: negative size in shape ", sizes);
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = Storage::allocate(static_cast<size_t>(numel_of(sizes)) * dtype_size(dtype));
  impl->sizes = sizes;
  impl->strides = contiguous_strides(sizes);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

void fail_undefined(const char* op) {
  fail<ValueError>(op, ": got an undefined tensor (a default-constructed Tensor holds no data)");
}

int64_t Tensor::size(int64_t d) const {
  const Dims& sizes = checked("size").sizes;
  return sizes[wrap_dim(d, static_cast<int64_t>(sizes.size()), "size")];
}
int64_t Tensor::stride(int64_t d) const {
  const TensorImpl& impl = checked("stride");
  return impl.strides[wrap_dim(d, static_cast<int64_t>(impl.sizes.size()), "stride")];
}

bool Tensor::is_contiguous() const {
  checked("is_contiguous");
  if (numel() == 0) return true;  // no element is out of place (PyTorch agrees)
  int64_t expected = 1;
  for (size_t i = impl_->sizes.size(); i-- > 0;) {
    if (impl_->sizes[i] == 1) continue;
    if (impl_->strides[i] != expected) return false;
    expected *= impl_->sizes[i];
  }
  return true;
}

void* Tensor::element_address(std::initializer_list<int64_t> index, DType expected) const {
  checked("at");
  if (expected != dtype()) fail<DTypeError>("at: requested ", dtype_name(expected), " from a ", dtype_name(dtype()), " tensor");
  if (static_cast<int64_t>(index.size()) != dim())
    fail<IndexError>("at: got ", index.size(), " indices for a tensor of ", dim(), " dimensions");
  int64_t off = 0;
  size_t d = 0;
  for (int64_t i : index) {
    int64_t n = impl_->sizes[d];
    if (i < -n || i >= n) fail<IndexError>("at: index ", i, " out of range for dim ", d, " of size ", n);
    off += (i < 0 ? i + n : i) * impl_->strides[d];
    ++d;
  }
  return static_cast<char*>(raw_data()) + off * static_cast<int64_t>(element_size());
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  checked("to_vector");
  std::vector<T> out;
  out.reserve(static_cast<size_t>(numel()));
  dispatch(dtype(), [&]<typename S>() {
    const S* base = static_cast<const S*>(raw_data());
    for_each_offset(sizes(), strides(), [&](int64_t off) {
      if constexpr (std::is_same_v<S, bf16>) out.push_back(static_cast<T>(static_cast<float>(base[off])));
      else out.push_back(static_cast<T>(base[off]));
    });
  });
  return out;
}

template <typename T>
T Tensor::item() const {
  checked("item");
  if (numel() != 1) fail<ValueError>("item: a tensor with ", numel(), " elements (shape ", sizes(), ") cannot be converted to a scalar");
  return to_vector<T>()[0];
}

#define CAJAL_INSTANTIATE(T) \
  template std::vector<T> Tensor::to_vector<T>() const; \
  template T Tensor::item<T>() const;
CAJAL_INSTANTIATE(float)
CAJAL_INSTANTIATE(double)
CAJAL_INSTANTIATE(int64_t)
CAJAL_INSTANTIATE(int32_t)
CAJAL_INSTANTIATE(uint8_t)
CAJAL_INSTANTIATE(bool)
CAJAL_INSTANTIATE(long double)  // printing: exact for int64 and double
#undef CAJAL_INSTANTIATE

}  // namespace cajal
