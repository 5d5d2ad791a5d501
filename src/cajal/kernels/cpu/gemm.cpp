// GEMM over batches of strided matrices. Float32 goes to oneDNN's sgemm (when built with
// it) or CBLAS, float64 to CBLAS; both read each operand in place through the transpose
// flags and leading dimensions. bfloat16 computes in float32; integers (and the empty
// k == 0 product) use a plain loop.
#include "cajal/kernels/cpu/gemm.h"

#include "cajal/kernels/cpu/blas.h"
#ifdef CAJAL_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif

#include <algorithm>
#include <atomic>
#include <climits>
#include <optional>
#include <type_traits>

#include "cajal/core/parallel.h"
#include "cajal/kernels/cpu/elementwise.h"

namespace cajal::kernels {

namespace {

// Below this many multiply-adds per matrix, a batch runs one matrix per thread (BLAS is
// single-threaded inside a parallel region), and a single product runs on one thread;
// above it, BLAS spreads each matrix over all threads.
constexpr int64_t kSmallMatrixWork = 64 * 64 * 64;

// One matrix: its first element and the strides (in elements) between rows and columns.
template <typename T>
struct Matrix {
  T* data;
  int64_t rows, cols, row_stride, col_stride;
  Matrix transposed() const { return {data, cols, rows, col_stride, row_stride}; }
};

// How row-major CBLAS reads a matrix in place: as stored, with rows `ld` elements apart,
// or (Trans) as the transpose of a row-major matrix, i.e. stored column-major.
struct BlasLayout {
  CBLAS_TRANSPOSE trans;
  int ld;
};

// The layout that lets BLAS read the matrix without a copy, if one exists. The stride of a
// size-1 dim carries no information, so it never rules a layout out.
std::optional<BlasLayout> blas_layout(int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride) {
  auto fits = [](int64_t ld, int64_t row_length) { return ld >= std::max<int64_t>(row_length, 1) && ld <= INT_MAX; };
  if (col_stride == 1 || cols == 1) {
    int64_t ld = rows == 1 ? std::max<int64_t>(cols, 1) : row_stride;
    if (fits(ld, cols)) return BlasLayout{CblasNoTrans, static_cast<int>(ld)};
  }
  if (row_stride == 1 || rows == 1) {
    int64_t ld = cols == 1 ? std::max<int64_t>(rows, 1) : col_stride;
    if (fits(ld, rows)) return BlasLayout{CblasTrans, static_cast<int>(ld)};
  }
  return std::nullopt;
}

template <typename T>
std::optional<BlasLayout> blas_layout(const Matrix<T>& m) {
  return blas_layout(m.rows, m.cols, m.row_stride, m.col_stride);
}

// The last two dims of t, which is what BLAS sees of each matrix of a batch.
std::optional<BlasLayout> matrix_layout(const Tensor& t) {
  return blas_layout(t.size(-2), t.size(-1), t.stride(-2), t.stride(-1));
}

std::atomic<GemmBackend> float_backend{gemm_backend_available(GemmBackend::OneDNN) ? GemmBackend::OneDNN
                                                                                   : GemmBackend::OpenBLAS};

#ifdef CAJAL_WITH_ONEDNN
// Sets this thread's OpenMP team size to one for its lifetime (the setting is per thread).
class OneThread {
 public:
  OneThread() : saved_(num_threads()) { set_num_threads(1); }
  ~OneThread() { set_num_threads(saved_); }
  OneThread(const OneThread&) = delete;
  OneThread& operator=(const OneThread&) = delete;

 private:
  int saved_;
};

// oneDNN's sgemm takes the same row-major arguments as CBLAS's. OPENBLAS_CORETYPE pins
// OpenBLAS to its AVX2 kernels here, while oneDNN picks AVX-512 at run time: about twice
// as fast on every shape measured (bench/README.md, "Matrix products"). oneDNN splits even
// a tiny product over every thread, which costs more than the product (128 x 10 x 128: 4x
// slower on 2 threads than on 1), so small ones run on the calling thread alone.
void onednn_sgemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, float alpha, const float* a, int lda,
                  const float* b, int ldb, float beta, float* c, int ldc) {
  std::optional<OneThread> one_thread;
  if (static_cast<int64_t>(m) * n * k < kSmallMatrixWork) one_thread.emplace();
  dnnl_status_t status = dnnl_sgemm(ta == CblasTrans ? 'T' : 'N', tb == CblasTrans ? 'T' : 'N', m, n, k, alpha, a, lda,
                                    b, ldb, beta, c, ldc);
  if (status != dnnl_success)
    fail<ValueError>("gemm: oneDNN's sgemm failed with status ", static_cast<int>(status), " on ", m, " x ", k, " @ ", k,
                     " x ", n, "; set_gemm_backend(GemmBackend::OpenBLAS) avoids it");
}
#endif

void blas_call(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, float alpha, const float* a, int lda,
               const float* b, int ldb, float beta, float* c, int ldc) {
#ifdef CAJAL_WITH_ONEDNN
  if (float_backend.load(std::memory_order_relaxed) == GemmBackend::OneDNN)
    return onednn_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
  cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void blas_call(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, double alpha, const double* a, int lda,
               const double* b, int ldb, double beta, double* c, int ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// c = alpha * a @ b + beta * c for one matrix; every operand has a BLAS layout.
template <typename T>
void blas_matrix(Matrix<const T> a, Matrix<const T> b, Matrix<T> c, T alpha, T beta) {
  if (blas_layout(c)->trans == CblasTrans) {
    // Row-major CBLAS writes row-major C only; a column-major C is C^T = B^T A^T, row-major.
    Matrix<const T> new_a = b.transposed();
    b = a.transposed();
    a = new_a;
    c = c.transposed();
  }
  BlasLayout la = *blas_layout(a), lb = *blas_layout(b), lc = *blas_layout(c);
  blas_call(la.trans, lb.trans, static_cast<int>(c.rows), static_cast<int>(c.cols), static_cast<int>(a.cols), alpha,
            a.data, la.ld, b.data, lb.ld, beta, c.data, lc.ld);
}

// out's batch shape, and each operand's batch strides broadcast to it (0 where one matrix
// serves several batch entries).
struct Batch {
  Dims sizes;
  Dims a_strides, b_strides, c_strides;
  int64_t count;
};

Dims broadcast_batch_strides(const Tensor& t, const Dims& batch_sizes) {
  size_t own = static_cast<size_t>(t.dim() - 2);
  size_t lead = batch_sizes.size() - own;
  Dims strides(batch_sizes.size(), 0);
  for (size_t d = 0; d < own; ++d) strides[lead + d] = t.sizes()[d] == 1 ? 0 : t.strides()[d];
  return strides;
}

Batch batch_of(const Tensor& a, const Tensor& b, const Tensor& c) {
  Dims sizes(c.sizes().begin(), c.sizes().end() - 2);
  return {sizes, broadcast_batch_strides(a, sizes), broadcast_batch_strides(b, sizes),
          broadcast_batch_strides(c, sizes), numel_of(sizes)};
}

// Element offset of batch entry `index` (row-major over the batch shape).
int64_t batch_offset(int64_t index, const Dims& sizes, const Dims& strides) {
  int64_t offset = 0;
  for (size_t d = sizes.size(); d-- > 0;) {
    offset += (index % sizes[d]) * strides[d];
    index /= sizes[d];
  }
  return offset;
}

// When the rows of every matrix in the batch lie evenly spaced one after another (a
// contiguous [B, n, k] is one [B*n, k] matrix), the stride between those rows.
std::optional<int64_t> folded_row_stride(const Dims& batch_sizes, const Dims& batch_strides, int64_t rows,
                                         int64_t row_stride) {
  std::optional<int64_t> inner;  // stride of the innermost dim of size > 1 seen so far
  int64_t span = 1;              // rows covered by the dims seen so far
  auto visit = [&](int64_t size, int64_t stride) {
    if (size == 1) return true;
    if (!inner) inner = stride;
    else if (stride != *inner * span) return false;
    span *= size;
    return true;
  };
  if (!visit(rows, row_stride)) return std::nullopt;
  for (size_t d = batch_sizes.size(); d-- > 0;)
    if (!visit(batch_sizes[d], batch_strides[d])) return std::nullopt;
  return inner.value_or(row_stride);
}

// t itself when BLAS can read its matrices in place, else a contiguous copy.
Tensor blas_readable(const Tensor& t) {
  if (matrix_layout(t)) return t;
  Tensor copy = make_tensor(t.sizes(), t.dtype());
  kernels::copy(t, copy);
  return copy;
}

template <typename T>
Matrix<T> matrix_at(const Tensor& t, int64_t offset) {
  return {static_cast<T*>(t.raw_data()) + offset, t.size(-2), t.size(-1), t.stride(-2), t.stride(-1)};
}

template <typename T>
void blas_gemm(const Tensor& a_in, const Tensor& b_in, const Tensor& out, T alpha, T beta) {
  Tensor a = blas_readable(a_in), b = blas_readable(b_in);
  // BLAS writes into out when it can, else into a contiguous buffer copied back after.
  bool direct = matrix_layout(out).has_value();
  Tensor c = direct ? out : make_tensor(out.sizes(), out.dtype());
  if (!direct && beta != 0) kernels::copy(out, c);
  Batch batch = batch_of(a, b, c);
  int64_t n = c.size(-2), m = c.size(-1), k = a.size(-1);

  // One matrix b shared by the whole batch: fold the batch into the rows of a and c, so
  // [B, n, k] @ [k, m] is a single [B*n, k] @ [k, m] product.
  bool b_shared = std::all_of(batch.b_strides.begin(), batch.b_strides.end(), [](int64_t s) { return s == 0; });
  if (batch.count > 1 && b_shared && batch.count * n <= INT_MAX) {
    auto a_stride = folded_row_stride(batch.sizes, batch.a_strides, n, a.stride(-2));
    auto c_stride = folded_row_stride(batch.sizes, batch.c_strides, n, c.stride(-2));
    if (a_stride && c_stride) {
      Matrix<const T> fa{static_cast<const T*>(a.raw_data()), batch.count * n, k, *a_stride, a.stride(-1)};
      Matrix<T> fc{static_cast<T*>(c.raw_data()), batch.count * n, m, *c_stride, c.stride(-1)};
      if (blas_layout(fa) && blas_layout(fc)) {
        blas_matrix<T>(fa, matrix_at<const T>(b, 0), fc, alpha, beta);
        if (!direct) kernels::copy(c, out);
        return;
      }
    }
  }

  auto run = [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      blas_matrix<T>(matrix_at<const T>(a, batch_offset(i, batch.sizes, batch.a_strides)),
                     matrix_at<const T>(b, batch_offset(i, batch.sizes, batch.b_strides)),
                     matrix_at<T>(c, batch_offset(i, batch.sizes, batch.c_strides)), alpha, beta);
  };
  int64_t work = n * m * k;
  if (work < kSmallMatrixWork) parallel_for(0, batch.count, std::max<int64_t>(1, kSmallMatrixWork / work), run);
  else run(0, batch.count);
  if (!direct) kernels::copy(c, out);
}

// bfloat16: convert to float32, multiply there, round the result once.
void bf16_gemm(const Tensor& a, const Tensor& b, const Tensor& out, double alpha, double beta) {
  auto to_f32 = [](const Tensor& t) {
    Tensor f = make_tensor(t.sizes(), DType::f32);
    kernels::copy(t, f);
    return f;
  };
  Tensor c = make_tensor(out.sizes(), DType::f32);
  if (beta != 0) kernels::copy(out, c);
  blas_gemm<float>(to_f32(a), to_f32(b), c, static_cast<float>(alpha), static_cast<float>(beta));
  kernels::copy(c, out);
}

// The loop kernel's accumulator: float for float32 and bfloat16, double for float64, and
// unsigned 64-bit for integers, whose overflow then wraps (as in PyTorch) instead of being
// undefined behaviour.
template <typename T>
using LoopAcc = std::conditional_t<std::is_integral_v<T>, uint64_t, std::conditional_t<std::is_same_v<T, double>, double, float>>;

template <typename Acc>
Acc to_acc(double v) {
  if constexpr (std::is_integral_v<Acc>) return static_cast<Acc>(static_cast<int64_t>(v));
  else return static_cast<Acc>(v);
}

// The plain triple loop: integers, and any dtype when k == 0 (then it writes beta * out).
template <typename T>
void loop_gemm(const Tensor& a, const Tensor& b, const Tensor& out, double alpha_in, double beta_in) {
  using Acc = LoopAcc<T>;
  Acc alpha = to_acc<Acc>(alpha_in), beta = to_acc<Acc>(beta_in);
  Batch batch = batch_of(a, b, out);
  int64_t n = out.size(-2), m = out.size(-1), k = a.size(-1);
  int64_t a_rs = a.stride(-2), a_cs = a.stride(-1), b_rs = b.stride(-2), b_cs = b.stride(-1);
  int64_t c_rs = out.stride(-2), c_cs = out.stride(-1);
  const T* pa = static_cast<const T*>(a.raw_data());
  const T* pb = static_cast<const T*>(b.raw_data());
  T* pc = static_cast<T*>(out.raw_data());
  int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, m * k));
  parallel_for(0, batch.count * n, grain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      int64_t entry = r / n, i = r % n;
      const T* a_row = pa + batch_offset(entry, batch.sizes, batch.a_strides) + i * a_rs;
      const T* b_mat = pb + batch_offset(entry, batch.sizes, batch.b_strides);
      T* c_row = pc + batch_offset(entry, batch.sizes, batch.c_strides) + i * c_rs;
      for (int64_t j = 0; j < m; ++j) {
        Acc sum = 0;
        for (int64_t p = 0; p < k; ++p) sum += static_cast<Acc>(a_row[p * a_cs]) * static_cast<Acc>(b_mat[p * b_rs + j * b_cs]);
        T& c = c_row[j * c_cs];
        c = static_cast<T>(beta == 0 ? alpha * sum : beta * static_cast<Acc>(c) + alpha * sum);
      }
    }
  });
}

}  // namespace

bool gemm_backend_available(GemmBackend backend) {
#ifdef CAJAL_WITH_ONEDNN
  return true;
#else
  return backend == GemmBackend::OpenBLAS;
#endif
}

void set_gemm_backend(GemmBackend backend) {
  if (!gemm_backend_available(backend))
    fail<ValueError>("set_gemm_backend: cajal was built without oneDNN (CMake option CAJAL_WITH_ONEDNN)");
  float_backend.store(backend);
}

GemmBackend gemm_backend() { return float_backend.load(); }

void gemm(const Tensor& a, const Tensor& b, const Tensor& out, double alpha, double beta) {
  if (out.numel() == 0) return;
  int64_t n = out.size(-2), m = out.size(-1), k = a.size(-1);
  if (n > INT_MAX || m > INT_MAX || k > INT_MAX)
    fail<ValueError>("gemm: matrices of ", n, " x ", k, " and ", k, " x ", m, " exceed BLAS's 32-bit size limit");
  DType dt = out.dtype();
  if (k == 0 || !is_floating(dt)) {
    dispatch(dt, [&]<typename T>() { loop_gemm<T>(a, b, out, alpha, beta); });
    return;
  }
  switch (dt) {
    case DType::f32: return blas_gemm<float>(a, b, out, static_cast<float>(alpha), static_cast<float>(beta));
    case DType::f64: return blas_gemm<double>(a, b, out, alpha, beta);
    default: return bf16_gemm(a, b, out, alpha, beta);
  }
}

}  // namespace cajal::kernels
