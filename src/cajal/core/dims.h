#pragma once
// Dims: a small vector of int64 for sizes and strides. Up to 6 entries live inline,
// so creating a tensor of ordinary rank allocates nothing for its shape.
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <vector>

namespace cajal {

class Dims {
 public:
  static constexpr int kInline = 6;
  Dims() = default;
  explicit Dims(size_t n, int64_t value = 0) { resize(n, value); }
  Dims(std::initializer_list<int64_t> v) { assign(v.begin(), v.end()); }
  Dims(const std::vector<int64_t>& v) { assign(v.data(), v.data() + v.size()); }
  template <typename It>
  Dims(It first, It last) { assign(first, last); }
  Dims(const Dims& o) { assign(o.begin(), o.end()); }
  Dims(Dims&& o) noexcept { *this = std::move(o); }
  Dims& operator=(const Dims& o) {
    if (this != &o) assign(o.begin(), o.end());
    return *this;
  }
  Dims& operator=(Dims&& o) noexcept {
    if (this == &o) return *this;
    if (o.heap_) {
      heap_ = std::move(o.heap_);
      cap_ = o.cap_;
      data_ = heap_.get();
    } else {
      heap_.reset();
      cap_ = kInline;
      data_ = inline_;
      std::copy(o.inline_, o.inline_ + o.size_, inline_);
    }
    size_ = o.size_;
    o.size_ = 0;
    o.cap_ = kInline;
    o.data_ = o.inline_;
    return *this;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int64_t* data() { return data_; }
  const int64_t* data() const { return data_; }
  int64_t& operator[](size_t i) { return data_[i]; }
  int64_t operator[](size_t i) const { return data_[i]; }
  int64_t* begin() { return data_; }
  int64_t* end() { return data_ + size_; }
  const int64_t* begin() const { return data_; }
  const int64_t* end() const { return data_ + size_; }
  int64_t back() const { return data_[size_ - 1]; }
  int64_t front() const { return data_[0]; }

  void reserve(size_t n) {
    if (n <= cap_) return;
    std::unique_ptr<int64_t[]> fresh(new int64_t[n]);
    std::copy(data_, data_ + size_, fresh.get());
    heap_ = std::move(fresh);
    data_ = heap_.get();
    cap_ = n;
  }
  void resize(size_t n, int64_t value = 0) {
    reserve(n);
    for (size_t i = size_; i < n; ++i) data_[i] = value;
    size_ = n;
  }
  void push_back(int64_t v) {
    if (size_ == cap_) reserve(cap_ * 2);
    data_[size_++] = v;
  }
  void insert(size_t pos, int64_t v) {
    push_back(0);
    for (size_t i = size_ - 1; i > pos; --i) data_[i] = data_[i - 1];
    data_[pos] = v;
  }
  void erase(size_t pos) {
    for (size_t i = pos; i + 1 < size_; ++i) data_[i] = data_[i + 1];
    --size_;
  }
  void clear() { size_ = 0; }
  std::vector<int64_t> vec() const { return std::vector<int64_t>(begin(), end()); }

  friend bool operator==(const Dims& a, const Dims& b) {
    return a.size_ == b.size_ && std::equal(a.begin(), a.end(), b.begin());
  }
  friend bool operator!=(const Dims& a, const Dims& b) { return !(a == b); }

 private:
  template <typename It>
  void assign(It first, It last) {
    size_ = 0;
    reserve(static_cast<size_t>(std::distance(first, last)));
    for (; first != last; ++first) data_[size_++] = static_cast<int64_t>(*first);
  }
  int64_t inline_[kInline] = {};
  std::unique_ptr<int64_t[]> heap_;
  int64_t* data_ = inline_;
  size_t size_ = 0;
  size_t cap_ = kInline;
};

// Prints as [2, 3, 4], the way error messages show shapes.
std::ostream& operator<<(std::ostream& os, const Dims& d);

// Shape helpers shared by ops and kernels.
int64_t numel_of(const Dims& sizes);
Dims contiguous_strides(const Dims& sizes);
// Wraps a possibly negative dim into [0, ndim); names the op in the error.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);
// NumPy broadcasting of two shapes; throws ShapeError naming the op.
Dims broadcast_shapes(const Dims& a, const Dims& b, const char* op);

}  // namespace cajal
