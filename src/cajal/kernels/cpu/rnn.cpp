// The time loop of a recurrent layer and its backward through time. Each step is one GEMM
// (kernels::gemm: oneDNN or OpenBLAS) and one pass over the gates (rows of the batch in parallel); the
// nonlinearities use vec_math's branch-free sigmoid and tanh so the loops vectorize.
#include "cajal/kernels/cpu/rnn.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "cajal/core/parallel.h"
#include "cajal/kernels/cpu/gemm.h"
#include "cajal/kernels/cpu/vec_math.h"

namespace cajal::kernels {

int64_t gate_count(RecurrentCell cell) {
  switch (cell) {
    case RecurrentCell::Lstm: return 4;
    case RecurrentCell::Gru: return 3;
    default: return 1;
  }
}

int64_t saved_count(RecurrentCell cell) {
  return cell == RecurrentCell::Lstm || cell == RecurrentCell::Gru ? 4 : 0;
}

namespace {

// --- GEMMs on blocks of the loop's buffers ---

// The rows x cols row-major matrix that starts at `at` inside `base`'s storage, as a tensor
// that kernels::gemm reads or writes in place (so every product of the loop goes through the
// library's float32 backend: oneDNN's AVX-512 kernels when cajal is built with it).
Tensor block(const Tensor& base, const void* at, int64_t rows, int64_t cols) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->sizes = {rows, cols};
  impl->strides = {cols, 1};
  impl->offset = base.offset() + (static_cast<const char*>(at) - static_cast<const char*>(base.raw_data())) /
                                     static_cast<int64_t>(base.element_size());
  impl->dtype = base.dtype();
  impl->is_view = true;
  return Tensor(std::move(impl));
}

// A row-major [rows, cols] matrix seen as its [cols, rows] transpose (a weight w as w^T).
Tensor transposed(const Tensor& w) {
  Tensor t = block(w, w.raw_data(), w.size(1), w.size(0));
  t.impl()->strides = {1, w.size(1)};
  return t;
}

template <typename T>
const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}
template <typename T>
T* mut_ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

// --- one step of the gates, forward ---

// The rows [n0, n1) of one step. Row-major [N, ...] blocks; `active` null means all rows.
template <typename T>
struct ForwardStep {
  int64_t hidden;
  const T* x_gates;  // [N, G*H] input @ w_ih^T
  const T* h_gates;  // [N, G*H] h_prev @ w_hh^T
  const T* b_ih;     // [G*H]
  const T* b_hh;     // [G*H]
  const T* h_prev;   // [N, H] (GRU)
  const T* c_prev;   // [N, H] (LSTM)
  T* saved;          // [N, S*H]
  T* h;              // [N, H]: the cell's output (before any projection)
  T* c;              // [N, H] (LSTM)
  const uint8_t* active;
};

// The gate loops of one row. Their pointers are __restrict (no two alias), which lets the
// compiler vectorize loops that read and write this many arrays.
template <typename T>
void lstm_forward_row(int64_t H, const T* __restrict xg, const T* __restrict hg, const T* __restrict bx,
                      const T* __restrict bh, const T* __restrict cp, T* __restrict sv, T* __restrict c,
                      T* __restrict h) {
  for (int64_t j = 0; j < H; ++j) {
    T i = vec_sigmoid((xg[j] + bx[j]) + (hg[j] + bh[j]));
    T f = vec_sigmoid((xg[H + j] + bx[H + j]) + (hg[H + j] + bh[H + j]));
    T g = vec_tanh((xg[2 * H + j] + bx[2 * H + j]) + (hg[2 * H + j] + bh[2 * H + j]));
    T o = vec_sigmoid((xg[3 * H + j] + bx[3 * H + j]) + (hg[3 * H + j] + bh[3 * H + j]));
    T cn = f * cp[j] + i * g;
    sv[j] = i;
    sv[H + j] = f;
    sv[2 * H + j] = g;
    sv[3 * H + j] = o;
    c[j] = cn;
    h[j] = o * vec_tanh(cn);
  }
}

template <typename T>
void gru_forward_row(int64_t H, const T* __restrict xg, const T* __restrict hg, const T* __restrict bx,
                     const T* __restrict bh, const T* __restrict hp, T* __restrict sv, T* __restrict h) {
  for (int64_t j = 0; j < H; ++j) {
    T r = vec_sigmoid((xg[j] + bx[j]) + (hg[j] + bh[j]));
    T z = vec_sigmoid((xg[H + j] + bx[H + j]) + (hg[H + j] + bh[H + j]));
    T hn = hg[2 * H + j] + bh[2 * H + j];
    T nn = vec_tanh((xg[2 * H + j] + bx[2 * H + j]) + r * hn);
    sv[j] = r;
    sv[H + j] = z;
    sv[2 * H + j] = nn;
    sv[3 * H + j] = hn;
    h[j] = (T(1) - z) * nn + z * hp[j];
  }
}

template <typename T, bool Relu>
void rnn_forward_row(int64_t H, const T* __restrict xg, const T* __restrict hg, const T* __restrict bx,
                     const T* __restrict bh, T* __restrict h) {
  for (int64_t j = 0; j < H; ++j) {
    T pre = (xg[j] + bx[j]) + (hg[j] + bh[j]);
    h[j] = Relu ? std::max(pre, T(0)) : vec_tanh(pre);
  }
}

template <typename T>
void lstm_forward_rows(const ForwardStep<T>& s, int64_t n0, int64_t n1) {
  const int64_t H = s.hidden;
  for (int64_t n = n0; n < n1; ++n) {
    const T* cp = s.c_prev + n * H;
    T* sv = s.saved + n * 4 * H;
    T* c = s.c + n * H;
    T* h = s.h + n * H;
    if (s.active && !s.active[n]) {
      std::fill(sv, sv + 4 * H, T(0));
      std::copy(cp, cp + H, c);
      std::fill(h, h + H, T(0));
      continue;
    }
    lstm_forward_row(H, s.x_gates + n * 4 * H, s.h_gates + n * 4 * H, s.b_ih, s.b_hh, cp, sv, c, h);
  }
}

template <typename T>
void gru_forward_rows(const ForwardStep<T>& s, int64_t n0, int64_t n1) {
  const int64_t H = s.hidden;
  for (int64_t n = n0; n < n1; ++n) {
    T* sv = s.saved + n * 4 * H;
    T* h = s.h + n * H;
    if (s.active && !s.active[n]) {
      std::fill(sv, sv + 4 * H, T(0));
      std::fill(h, h + H, T(0));
      continue;
    }
    gru_forward_row(H, s.x_gates + n * 3 * H, s.h_gates + n * 3 * H, s.b_ih, s.b_hh, s.h_prev + n * H, sv, h);
  }
}

template <typename T, bool Relu>
void rnn_forward_rows(const ForwardStep<T>& s, int64_t n0, int64_t n1) {
  const int64_t H = s.hidden;
  for (int64_t n = n0; n < n1; ++n) {
    T* h = s.h + n * H;
    if (s.active && !s.active[n]) std::fill(h, h + H, T(0));
    else rnn_forward_row<T, Relu>(H, s.x_gates + n * H, s.h_gates + n * H, s.b_ih, s.b_hh, h);
  }
}

template <typename T>
void forward_rows(RecurrentCell cell, const ForwardStep<T>& s, int64_t n0, int64_t n1) {
  switch (cell) {
    case RecurrentCell::Lstm: return lstm_forward_rows(s, n0, n1);
    case RecurrentCell::Gru: return gru_forward_rows(s, n0, n1);
    case RecurrentCell::RnnTanh: return rnn_forward_rows<T, false>(s, n0, n1);
    case RecurrentCell::RnnRelu: return rnn_forward_rows<T, true>(s, n0, n1);
  }
}

// --- one step of the gates, backward ---

template <typename T>
struct BackwardStep {
  int64_t hidden;
  const T* d_cell;   // [N, H]: gradient of the cell's output h (after the projection's backward)
  const T* d_state;  // [N, P]: gradient of the step's state h, passed on by inactive rows
  int64_t proj;      // P
  const T* saved;    // [N, S*H]
  const T* h;        // [N, H]: the step's output (RNN)
  const T* h_prev;   // [N, H] (GRU)
  const T* c;        // [N, H] (LSTM)
  const T* c_prev;   // [N, H] (LSTM)
  T* d_x_gates;      // [N, G*H]
  T* d_h_gates;      // [N, G*H] (GRU; else equal to d_x_gates)
  T* d_c;            // [N, H] (LSTM): gradient of c in, of c_prev out
  T* d_h_prev;       // [N, P]: the part of h_prev's gradient that bypasses w_hh
  const uint8_t* active;
};

// An inactive row: no gate gradients, the state's gradient passes to h_prev unchanged (and
// c's stays as it is).
template <typename T>
void pass_inactive_row(const BackwardStep<T>& s, int64_t n, int64_t gates) {
  const int64_t GH = gates * s.hidden;
  std::fill(s.d_x_gates + n * GH, s.d_x_gates + (n + 1) * GH, T(0));
  if (s.d_h_gates != s.d_x_gates) std::fill(s.d_h_gates + n * GH, s.d_h_gates + (n + 1) * GH, T(0));
  std::copy(s.d_state + n * s.proj, s.d_state + (n + 1) * s.proj, s.d_h_prev + n * s.proj);
}

template <typename T>
void lstm_backward_row(int64_t H, const T* __restrict sv, const T* __restrict dh, const T* __restrict c,
                       const T* __restrict cp, T* __restrict dc, T* __restrict dg) {
  for (int64_t j = 0; j < H; ++j) {
    T i = sv[j], f = sv[H + j], g = sv[2 * H + j], o = sv[3 * H + j];
    T tc = vec_tanh(c[j]);
    T dct = dc[j] + dh[j] * o * (T(1) - tc * tc);
    dg[j] = dct * g * i * (T(1) - i);
    dg[H + j] = dct * cp[j] * f * (T(1) - f);
    dg[2 * H + j] = dct * i * (T(1) - g * g);
    dg[3 * H + j] = dh[j] * tc * o * (T(1) - o);
    dc[j] = dct * f;
  }
}

template <typename T>
void gru_backward_row(int64_t H, const T* __restrict sv, const T* __restrict dh, const T* __restrict hp,
                      T* __restrict dgx, T* __restrict dgh, T* __restrict dhp) {
  for (int64_t j = 0; j < H; ++j) {
    T r = sv[j], z = sv[H + j], nn = sv[2 * H + j], hn = sv[3 * H + j];
    T dn = dh[j] * (T(1) - z) * (T(1) - nn * nn);
    T dr = dn * hn * r * (T(1) - r);
    T dz = dh[j] * (hp[j] - nn) * z * (T(1) - z);
    dgx[j] = dr;
    dgx[H + j] = dz;
    dgx[2 * H + j] = dn;
    dgh[j] = dr;
    dgh[H + j] = dz;
    dgh[2 * H + j] = dn * r;
    dhp[j] = dh[j] * z;
  }
}

template <typename T, bool Relu>
void rnn_backward_row(int64_t H, const T* __restrict dh, const T* __restrict h, T* __restrict dg) {
  for (int64_t j = 0; j < H; ++j) dg[j] = Relu ? (h[j] > T(0) ? dh[j] : T(0)) : dh[j] * (T(1) - h[j] * h[j]);
}

template <typename T>
void lstm_backward_rows(const BackwardStep<T>& s, int64_t n0, int64_t n1) {
  const int64_t H = s.hidden;
  for (int64_t n = n0; n < n1; ++n) {
    if (s.active && !s.active[n]) {
      pass_inactive_row(s, n, 4);
      continue;
    }
    lstm_backward_row(H, s.saved + n * 4 * H, s.d_cell + n * H, s.c + n * H, s.c_prev + n * H, s.d_c + n * H,
                      s.d_x_gates + n * 4 * H);
    std::fill(s.d_h_prev + n * s.proj, s.d_h_prev + (n + 1) * s.proj, T(0));
  }
}

template <typename T>
void gru_backward_rows(const BackwardStep<T>& s, int64_t n0, int64_t n1) {
  const int64_t H = s.hidden;
  for (int64_t n = n0; n < n1; ++n) {
    if (s.active && !s.active[n]) {
      pass_inactive_row(s, n, 3);
      continue;
    }
    gru_backward_row(H, s.saved + n * 4 * H, s.d_cell + n * H, s.h_prev + n * H, s.d_x_gates + n * 3 * H,
                     s.d_h_gates + n * 3 * H, s.d_h_prev + n * H);
  }
}

template <typename T, bool Relu>
void rnn_backward_rows(const BackwardStep<T>& s, int64_t n0, int64_t n1) {
  const int64_t H = s.hidden;
  for (int64_t n = n0; n < n1; ++n) {
    if (s.active && !s.active[n]) {
      pass_inactive_row(s, n, 1);
      continue;
    }
    rnn_backward_row<T, Relu>(H, s.d_cell + n * H, s.h + n * H, s.d_x_gates + n * H);
    std::fill(s.d_h_prev + n * H, s.d_h_prev + (n + 1) * H, T(0));
  }
}

template <typename T>
void backward_rows(RecurrentCell cell, const BackwardStep<T>& s, int64_t n0, int64_t n1) {
  switch (cell) {
    case RecurrentCell::Lstm: return lstm_backward_rows(s, n0, n1);
    case RecurrentCell::Gru: return gru_backward_rows(s, n0, n1);
    case RecurrentCell::RnnTanh: return rnn_backward_rows<T, false>(s, n0, n1);
    case RecurrentCell::RnnRelu: return rnn_backward_rows<T, true>(s, n0, n1);
  }
}

// The sizes every loop needs, read from the forward's tensors.
struct LoopShape {
  int64_t steps, batch, hidden, proj, gates, saved;
  bool projected;
};

LoopShape loop_shape(const RecurrentForward& f) {
  int64_t gates = gate_count(f.cell);
  return {f.h.size(0), f.h.size(1), f.w_hh.size(0) / gates, f.w_hh.size(1), gates, saved_count(f.cell),
          f.w_hr.defined()};
}

// The sequences of a batch never interact, so each thread runs the whole time loop for its
// own rows: no synchronization per step, and each step's GEMM is a single-threaded BLAS call
// on that thread's rows. A batch too small to share (per-step work below a few GEMM
// tiles' worth) runs on one thread, whose BLAS calls may use every thread.
template <typename F>
void for_row_blocks(const LoopShape& L, const F& rows) {
  const int64_t work_per_row = L.gates * L.hidden * std::max(L.proj, L.hidden);
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, work_per_row));
  parallel_for(0, L.batch, grain, rows);
}

// The t of processing step s, and the t of the step before it.
int64_t time_of(const RecurrentForward& f, int64_t steps, int64_t s) { return f.reverse ? steps - 1 - s : s; }
int64_t previous_time(const RecurrentForward& f, int64_t t) { return f.reverse ? t + 1 : t - 1; }

template <typename T>
void forward_impl(const RecurrentForward& f) {
  const LoopShape L = loop_shape(f);
  const int64_t N = L.batch, H = L.hidden, P = L.proj, GH = L.gates * H;
  std::vector<T> zero_bias(GH, T(0));
  const T* b_ih = f.b_ih.defined() ? f.b_ih.data_ptr<T>() : zero_bias.data();
  const T* b_hh = f.b_hh.defined() ? f.b_hh.data_ptr<T>() : zero_bias.data();
  const T* x_gates = f.x_gates.data_ptr<T>();
  const T* h0 = f.h0.data_ptr<T>();
  const T* c0 = ptr_or_null<T>(f.c0);
  const uint8_t* active = ptr_or_null<uint8_t>(f.active);
  T* h = f.h.data_ptr<T>();
  T* c = mut_ptr_or_null<T>(f.c);
  T* h_cell = mut_ptr_or_null<T>(f.h_cell);
  T* saved = mut_ptr_or_null<T>(f.saved);
  const Tensor w_hh_t = transposed(f.w_hh), w_hr_t = L.projected ? transposed(f.w_hr) : Tensor();
  const Tensor h_gates_buffer = make_tensor({N, GH}, f.h.dtype());  // rows shared out between the threads
  T* h_gates = h_gates_buffer.data_ptr<T>();

  for_row_blocks(L, [&](int64_t n0, int64_t n1) {
    const int64_t rows = n1 - n0;
    for (int64_t s = 0; s < L.steps; ++s) {
      const int64_t t = time_of(f, L.steps, s), tp = previous_time(f, t);
      const T* h_prev = s == 0 ? h0 : h + tp * N * P;
      const T* c_prev = !c ? nullptr : s == 0 ? c0 : c + tp * N * H;
      T* h_t = h + t * N * P;
      gemm(block(s == 0 ? f.h0 : f.h, h_prev + n0 * P, rows, P), w_hh_t,
           block(h_gates_buffer, h_gates + n0 * GH, rows, GH));
      ForwardStep<T> step{H,
                          x_gates + t * N * GH,
                          h_gates,
                          b_ih,
                          b_hh,
                          h_prev,
                          c_prev,
                          saved ? saved + t * N * L.saved * H : nullptr,
                          L.projected ? h_cell + t * N * H : h_t,
                          c ? c + t * N * H : nullptr,
                          active ? active + t * N : nullptr};
      forward_rows(f.cell, step, n0, n1);
      if (L.projected)
        gemm(block(f.h_cell, h_cell + (t * N + n0) * H, rows, H), w_hr_t, block(f.h, h_t + n0 * P, rows, P));
      if (step.active)
        for (int64_t n = n0; n < n1; ++n)
          if (!step.active[n]) std::copy(h_prev + n * P, h_prev + (n + 1) * P, h_t + n * P);
    }
  });
}

template <typename T>
void backward_impl(const RecurrentBackward& b) {
  const RecurrentForward& f = *b.forward;
  const LoopShape L = loop_shape(f);
  const int64_t N = L.batch, H = L.hidden, P = L.proj, GH = L.gates * H;
  const T* h0 = f.h0.data_ptr<T>();
  const T* c0 = ptr_or_null<T>(f.c0);
  const uint8_t* active = ptr_or_null<uint8_t>(f.active);
  const T* h = f.h.data_ptr<T>();
  const T* c = ptr_or_null<T>(f.c);
  const T* saved = ptr_or_null<T>(f.saved);
  const T* d_output = ptr_or_null<T>(b.d_output);
  const T* d_h_n = ptr_or_null<T>(b.d_h_n);
  const T* d_c_n = ptr_or_null<T>(b.d_c_n);
  T* d_x_gates = b.d_x_gates.data_ptr<T>();
  T* d_h_gates = b.d_h_gates.data_ptr<T>();
  T* d_h_all = mut_ptr_or_null<T>(b.d_h);
  // d_h0 carries the gradient of h_prev from step to step, d_c0 that of c_prev.
  T* d_h_carry = b.d_h0.data_ptr<T>();
  T* d_c = mut_ptr_or_null<T>(b.d_c0);
  // Scratch rows of one step: the state's gradient (kept for every step in d_h with a
  // projection) and the cell output's.
  const Tensor d_state_buffer = d_h_all ? b.d_h : make_tensor({N, P}, f.h.dtype());
  const Tensor d_cell_buffer = L.projected ? make_tensor({N, H}, f.h.dtype()) : Tensor();

  for_row_blocks(L, [&](int64_t n0, int64_t n1) {
    const int64_t rows = n1 - n0;
    auto start_from = [&](T* dst, const T* grad, int64_t width) {
      if (grad) std::copy(grad + n0 * width, grad + n1 * width, dst + n0 * width);
      else std::fill(dst + n0 * width, dst + n1 * width, T(0));
    };
    start_from(d_h_carry, d_h_n, P);
    if (d_c) start_from(d_c, d_c_n, H);
    for (int64_t s = L.steps - 1; s >= 0; --s) {
      const int64_t t = time_of(f, L.steps, s), tp = previous_time(f, t);
      const uint8_t* act = active ? active + t * N : nullptr;
      // The gradient of this step's state: from later steps, plus its output's where valid.
      T* d_state = d_h_all ? d_h_all + t * N * P : d_state_buffer.data_ptr<T>();
      for (int64_t n = n0; n < n1; ++n) {
        const T* carry = d_h_carry + n * P;
        T* dst = d_state + n * P;
        if (d_output && (!act || act[n])) {
          const T* dout = d_output + (t * N + n) * P;
          for (int64_t p = 0; p < P; ++p) dst[p] = carry[p] + dout[p];
        } else {
          std::copy(carry, carry + P, dst);
        }
      }
      const T* d_cell = d_state;
      if (L.projected) {
        d_cell = d_cell_buffer.data_ptr<T>();
        gemm(block(d_state_buffer, d_state + n0 * P, rows, P), f.w_hr,
             block(d_cell_buffer, d_cell + n0 * H, rows, H));
      }
      BackwardStep<T> step{H,
                           d_cell,
                           d_state,
                           P,
                           saved ? saved + t * N * L.saved * H : nullptr,
                           h + t * N * P,
                           s == 0 ? h0 : h + tp * N * P,
                           c ? c + t * N * H : nullptr,
                           !c ? nullptr : s == 0 ? c0 : c + tp * N * H,
                           d_x_gates + t * N * GH,
                           d_h_gates + t * N * GH,
                           d_c,
                           d_h_carry,
                           act};
      backward_rows(f.cell, step, n0, n1);
      gemm(block(b.d_h_gates, d_h_gates + (t * N + n0) * GH, rows, GH), f.w_hh,
           block(b.d_h0, d_h_carry + n0 * P, rows, P), 1, 1);
    }
  });
}

}  // namespace

void recurrent_forward(const RecurrentForward& f) {
  if (f.h.dtype() == DType::f64) forward_impl<double>(f);
  else forward_impl<float>(f);
}

void recurrent_backward(const RecurrentBackward& b) {
  if (b.forward->h.dtype() == DType::f64) backward_impl<double>(b);
  else backward_impl<float>(b);
}

}  // namespace cajal::kernels
