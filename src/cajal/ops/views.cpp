// View ops: new geometry over the same storage, never a copy. Each records the backward
// that maps the view's gradient back to the base's shape.
#include <algorithm>
#include <numeric>

#include "cajal/autograd/node.h"
#include "cajal/kernels/cpu/elementwise.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/reduce.h"
#include "cajal/ops/shape.h"

namespace cajal {

namespace {

Tensor make_view(const Tensor& base, Dims sizes, Dims strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->sizes = std::move(sizes);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = base.dtype();
  impl->is_view = true;
  return Tensor(std::move(impl));
}

// Resolves one -1 in a requested shape and checks the element count.
Dims infer_shape(const Dims& shape, int64_t numel, const char* op, const Dims& from) {
  Dims out = shape;
  int64_t known = 1;
  int infer = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      if (infer >= 0) fail<ShapeError>(op, ": only one dimension can be -1, got ", shape);
      infer = static_cast<int>(i);
    } else if (out[i] < 0) {
      fail<ShapeError>(op, ": invalid size ", out[i], " in shape ", shape);
    } else if (__builtin_mul_overflow(known, out[i], &known)) {
      fail<ShapeError>(op, ": shape ", shape, " has more elements than int64 can count");
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel % known != 0)
      fail<ShapeError>(op, ": shape ", shape, " is invalid for input of size ", numel, " (shape ", from, ")");
    out[infer] = numel / known;
  } else if (known != numel) {
    fail<ShapeError>(op, ": shape ", shape, " is invalid for input of size ", numel, " (shape ", from, ")");
  }
  return out;
}

// Strides for viewing (sizes, strides) as new_sizes without copying, if possible
// (the chunks of dims that are contiguous in memory may be regrouped freely).
std::optional<Dims> view_strides(const Dims& sizes, const Dims& strides, const Dims& new_sizes) {
  Dims out(new_sizes.size());
  if (numel_of(sizes) == 0 || sizes.empty()) return contiguous_strides(new_sizes);
  int64_t view_d = static_cast<int64_t>(new_sizes.size()) - 1;
  int64_t chunk_base_stride = strides.empty() ? 1 : strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(sizes.size()) - 1; d >= 0; --d) {
    tensor_numel *= sizes[d];
    if (d == 0 || (sizes[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_sizes[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= new_sizes[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

Tensor reshape_back(const Tensor& g, const Dims& shape) { return g.reshape(shape); }

}  // namespace

Tensor Tensor::view(const Dims& shape) const {
  check_defined("view", *this);
  Dims target = infer_shape(shape, numel(), "view", sizes());
  auto strides_opt = view_strides(sizes(), strides(), target);
  if (!strides_opt)
    fail<ShapeError>("view: shape ", target, " is not compatible with the input's size ", sizes(), " and stride ",
                     strides(), "; use reshape() instead");
  Tensor out = make_view(*this, target, *strides_opt, offset());
  autograd::record("view", out, {this}, [shape = sizes()](const Tensor& g) -> TensorList { return {reshape_back(g, shape)}; });
  return out;
}

Tensor Tensor::reshape(const Dims& shape) const {
  check_defined("reshape", *this);
  Dims target = infer_shape(shape, numel(), "reshape", sizes());
  if (view_strides(sizes(), strides(), target)) return view(target);
  return contiguous().view(target);
}

Tensor Tensor::as_strided(const Dims& sizes_, const Dims& strides_, int64_t offset_) const {
  check_defined("as_strided", *this);
  if (requires_grad() && autograd::GradMode::enabled())
    fail<AutogradError>("as_strided: not differentiable; use view ops for tensors that require grad");
  return make_view(*this, sizes_, strides_, offset_);
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  check_defined("transpose", *this);
  int64_t a = wrap_dim(d0, dim(), "transpose"), b = wrap_dim(d1, dim(), "transpose");
  if (dim() == 0) return view({});
  Dims s = sizes(), st = strides();
  std::swap(s[a], s[b]);
  std::swap(st[a], st[b]);
  Tensor out = make_view(*this, s, st, offset());
  autograd::record("transpose", out, {this}, [a, b](const Tensor& g) -> TensorList { return {g.transpose(a, b)}; });
  return out;
}

Tensor Tensor::t() const {
  check_defined("t", *this);
  if (dim() > 2) fail<ShapeError>("t: expects a tensor of at most 2 dimensions, got ", dim(), " (shape ", sizes(), ")");
  return dim() < 2 ? view(sizes()) : transpose(0, 1);
}

Tensor Tensor::permute(const Dims& order) const {
  check_defined("permute", *this);
  if (static_cast<int64_t>(order.size()) != dim())
    fail<ShapeError>("permute: order ", order, " has ", order.size(), " dims, the tensor has ", dim());
  Dims s(order.size()), st(order.size()), inverse(order.size());
  std::vector<bool> seen(order.size(), false);
  for (size_t i = 0; i < order.size(); ++i) {
    int64_t d = wrap_dim(order[i], dim(), "permute");
    if (seen[d]) fail<ShapeError>("permute: dim ", order[i], " repeats in order ", order);
    seen[d] = true;
    s[i] = sizes()[d];
    st[i] = strides()[d];
    inverse[d] = static_cast<int64_t>(i);
  }
  Tensor out = make_view(*this, s, st, offset());
  autograd::record("permute", out, {this}, [inverse](const Tensor& g) -> TensorList { return {g.permute(inverse)}; });
  return out;
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
  check_defined("slice", *this);
  int64_t dd = wrap_dim(d, dim(), "slice");
  if (step <= 0) fail<ValueError>("slice: step must be positive, got ", step);
  int64_t n = sizes()[dd];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Dims s = sizes(), st = strides();
  s[dd] = (end - start + step - 1) / step;
  st[dd] *= step;
  Tensor out = make_view(*this, s, st, offset() + start * strides()[dd]);
  autograd::record("slice", out, {this}, [shape = sizes(), dd, start, step](const Tensor& g) -> TensorList {
    return {slice_backward(g, shape, dd, start, step)};
  });
  return out;
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  check_defined("narrow", *this);
  int64_t dd = wrap_dim(d, dim(), "narrow");
  int64_t n = sizes()[dd];
  if (start < 0) start += n;
  if (start < 0 || length < 0 || start + length > n)
    fail<IndexError>("narrow: start ", start, " and length ", length, " exceed dim ", d, " of size ", n);
  return slice(dd, start, start + length);
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  check_defined("select", *this);
  if (dim() == 0) fail<IndexError>("select: cannot index a 0-d tensor");
  int64_t dd = wrap_dim(d, dim(), "select");
  int64_t n = sizes()[dd];
  if (index < -n || index >= n) fail<IndexError>("select: index ", index, " out of range for dim ", d, " of size ", n);
  if (index < 0) index += n;
  Dims s = sizes(), st = strides();
  s.erase(dd);
  st.erase(dd);
  Tensor out = make_view(*this, s, st, offset() + index * strides()[dd]);
  autograd::record("select", out, {this}, [shape = sizes(), dd, index](const Tensor& g) -> TensorList {
    return {slice_backward(g.unsqueeze(dd), shape, dd, index, 1)};
  });
  return out;
}

Tensor Tensor::expand(const Dims& shape) const {
  check_defined("expand", *this);
  if (shape.size() < sizes().size())
    fail<ShapeError>("expand: the target shape ", shape, " has fewer dims than the tensor's ", sizes());
  size_t lead = shape.size() - sizes().size();
  Dims s(shape.size()), st(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i < lead) {
      if (shape[i] < 0) fail<ShapeError>("expand: -1 is not allowed for a new leading dim in ", shape);
      s[i] = shape[i];
      st[i] = 0;
      continue;
    }
    int64_t cur = sizes()[i - lead];
    int64_t want = shape[i] == -1 ? cur : shape[i];
    if (cur != want && cur != 1)
      fail<ShapeError>("expand: the size ", cur, " at dim ", i - lead, " cannot be expanded to ", want, " (shape ",
                       sizes(), " to ", shape, ")");
    s[i] = want;
    st[i] = cur == want ? strides()[i - lead] : 0;
  }
  Tensor out = make_view(*this, s, st, offset());
  autograd::record("expand", out, {this}, [shape = sizes()](const Tensor& g) -> TensorList { return {sum_to(g, shape)}; });
  return out;
}

Tensor Tensor::squeeze() const {
  check_defined("squeeze", *this);
  Dims s;
  for (int64_t v : sizes())
    if (v != 1) s.push_back(v);
  return s == sizes() ? view(s) : reshape(s);
}

Tensor Tensor::squeeze(int64_t d) const {
  check_defined("squeeze", *this);
  int64_t dd = wrap_dim(d, dim(), "squeeze");
  if (dim() == 0 || sizes()[dd] != 1) return view(sizes());
  Dims s = sizes();
  s.erase(dd);
  return view(s);
}

Tensor Tensor::unsqueeze(int64_t d) const {
  check_defined("unsqueeze", *this);
  int64_t dd = wrap_dim(d, dim() + 1, "unsqueeze");
  Dims s = sizes(), st = strides();
  int64_t new_stride = dd < dim() ? sizes()[dd] * strides()[dd] : 1;
  s.insert(dd, 1);
  st.insert(dd, new_stride);
  Tensor out = make_view(*this, s, st, offset());
  autograd::record("unsqueeze", out, {this}, [dd](const Tensor& g) -> TensorList { return {g.squeeze(dd)}; });
  return out;
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  check_defined("flatten", *this);
  if (dim() == 0) return reshape({1});
  int64_t a = wrap_dim(start_dim, dim(), "flatten"), b = wrap_dim(end_dim, dim(), "flatten");
  if (a > b) fail<ValueError>("flatten: start_dim ", start_dim, " comes after end_dim ", end_dim);
  Dims s;
  for (int64_t i = 0; i < a; ++i) s.push_back(sizes()[i]);
  int64_t merged = 1;
  for (int64_t i = a; i <= b; ++i) merged *= sizes()[i];
  s.push_back(merged);
  for (int64_t i = b + 1; i < dim(); ++i) s.push_back(sizes()[i]);
  return reshape(s);
}

Tensor Tensor::unflatten(int64_t d, const Dims& parts) const {
  check_defined("unflatten", *this);
  int64_t dd = wrap_dim(d, dim(), "unflatten");
  Dims resolved = infer_shape(parts, sizes()[dd], "unflatten", sizes());
  Dims s;
  for (int64_t i = 0; i < dd; ++i) s.push_back(sizes()[i]);
  for (int64_t v : resolved) s.push_back(v);
  for (int64_t i = dd + 1; i < dim(); ++i) s.push_back(sizes()[i]);
  return view(s);
}

Tensor slice_backward(const Tensor& g, const Dims& input_shape, int64_t dim, int64_t start, int64_t step) {
  Tensor out = zeros(input_shape, {.dtype = g.dtype()});
  int64_t end = start + (g.sizes()[dim] - 1) * step + 1;
  {
    NoGradGuard no_grad;
    kernels::copy(g, out.slice(dim, start, end, step));
  }
  autograd::record("slice_backward", out, {&g}, [dim, start, end, step](const Tensor& gg) -> TensorList {
    return {gg.slice(dim, start, end, step)};
  });
  return out;
}

}  // namespace cajal
