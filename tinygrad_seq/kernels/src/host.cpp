// CPU build of the fused recurrent cells and of (log-)softmax: the element functions of
// cell_math.cuh (the bodies the CUDA kernels run, one per thread) looped over units and rows.
// tinygrad_seq/kernels/host.py compiles this file at first use with the system's C++ compiler
// and calls it through ctypes; kernels/reference.py is the NumPy reference it must agree with
// (tests/test_kernels.py).
//
// Every entry point takes, per 2-D array, a pointer and its row stride in elements (columns
// are contiguous; a null pointer for an absent optional input), then the batch size b and the
// hidden size n: the same arguments as the CUDA kernels of the same name.
#include <cmath>

#if defined(TS_VECTOR_MATH) && defined(__GLIBC__) && defined(__x86_64__)
// glibc's libmvec has SIMD versions of these; declaring them lets the compiler vectorise the
// row loops below without -ffast-math (which would also assume there are no inf or NaN)
extern "C" float tanhf(float) noexcept __attribute__((simd("notinbranch")));
extern "C" double tanh(double) noexcept __attribute__((simd("notinbranch")));
extern "C" float expf(float) noexcept __attribute__((simd("notinbranch")));
extern "C" double exp(double) noexcept __attribute__((simd("notinbranch")));
#endif

#include "cell_math.cuh"

#define R __restrict__
using ts::idx;

// The element functions' pointers are not restrict-qualified once inlined, so the compiler
// would guard the loop with more run-time alias checks than it allows (and not vectorise);
// each unit j touches its own elements only, which these pragmas state.
#if defined(__clang__)
#define EACH_UNIT _Pragma("clang loop vectorize(assume_safety)") for (int j = 0; j < n; ++j)
#else
#define EACH_UNIT _Pragma("GCC ivdep") for (int j = 0; j < n; ++j)
#endif

namespace {

// One row of every loop below is a separate function with restrict-qualified pointers: with
// EACH_UNIT, that is what lets the compiler vectorise the loop over the units.
template <typename T, bool kRec>
void lstm_forward_row(T* R g, const T* R rec, const T* R c, T* R c_new, T* R tc, T* R h, int n) {
  EACH_UNIT ts::lstm_forward_at<T, kRec>(g, rec, c, c_new, tc, h, n, j);
}

template <typename T>
void lstm_backward_row(const T* R act, const T* R c, const T* R tc, const T* R dh, const T* R dc,
                       T* R d, T* R d_c, int n) {
  EACH_UNIT ts::lstm_backward_at<T>(act, c, tc, dh, dc, d, d_c, n, j);
}

template <typename T>
void gru_forward_row(T* R gi, const T* R gh, const T* R h, T* R h_new, int n) {
  EACH_UNIT ts::gru_forward_at<T>(gi, gh, h, h_new, n, j);
}

template <typename T>
void gru_backward_row(const T* R rz, const T* R nn, const T* R ghn, const T* R h, const T* R dh,
                      T* R d_gi, T* R d_gh, T* R d_h, int n) {
  EACH_UNIT ts::gru_backward_at<T>(rz, nn, ghn, h, dh, d_gi, d_gh, d_h, n, j);
}

template <typename T, bool kRelu, bool kRec>
void rnn_forward_row(const T* R pre, const T* R rec, T* R h, int n) {
  EACH_UNIT ts::rnn_forward_at<T, kRelu, kRec>(pre, rec, h, j);
}

template <typename T, bool kRelu>
void rnn_backward_row(const T* R h, const T* R dh, T* R d_pre, int n) {
  EACH_UNIT ts::rnn_backward_at<T, kRelu>(h, dh, d_pre, j);
}

// The row reductions are plain loops (a vectorised floating-point sum would need
// -ffast-math's reassociation); the exp passes, separate from them, vectorise.
template <typename T>
T row_max(const T* R x, int n) {
  T m = x[0];
  for (int j = 1; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

template <typename T>
T row_sum(const T* R x, int n) {
  T s = 0;
  for (int j = 0; j < n; ++j) s += x[j];
  return s;
}

template <typename T>
void log_softmax_row(const T* R x, T* R out, int n) {
  const T m = row_max(x, n);
  EACH_UNIT out[j] = ts::exp_(x[j] - m);
  const T log_sum = ts::log_(row_sum(out, n));
  EACH_UNIT out[j] = ts::log_softmax_value(x[j], m, log_sum);
}

template <typename T>
void log_softmax_backward_row(const T* R g, const T* R out, T* R dx, int n) {
  const T s = row_sum(g, n);
  EACH_UNIT dx[j] = ts::log_softmax_grad(g[j], out[j], s);
}

template <typename T>
void softmax_row(const T* R x, T* R out, int n) {
  const T m = row_max(x, n);
  EACH_UNIT out[j] = ts::exp_(x[j] - m);
  const T inv = T(1) / row_sum(out, n);
  EACH_UNIT out[j] *= inv;
}

template <typename T>
void softmax_backward_row(const T* R g, const T* R y, T* R dx, int n) {
  EACH_UNIT dx[j] = g[j] * y[j];
  const T s = row_sum(dx, n);
  EACH_UNIT dx[j] = ts::softmax_grad(g[j], y[j], s);
}

}  // namespace

#define EXPORT(T, S)                                                                           \
  extern "C" void lstm_cell_forward_##S(T* g, idx gs, const T* rec, idx rs, const T* c,         \
                                        idx cs, T* cn, idx ns, T* tc, idx tcs, T* h, idx hs,    \
                                        int b, int n) {                                        \
    for (idx k = 0; k < b; ++k) {                                                              \
      if (rec)                                                                                 \
        lstm_forward_row<T, true>(g + k * gs, rec + k * rs, c + k * cs, cn + k * ns,            \
                                  tc + k * tcs, h + k * hs, n);                                \
      else                                                                                     \
        lstm_forward_row<T, false>(g + k * gs, nullptr, c + k * cs, cn + k * ns, tc + k * tcs,  \
                                   h + k * hs, n);                                             \
    }                                                                                          \
  }                                                                                            \
  extern "C" void lstm_cell_backward_##S(const T* a, idx as, const T* c, idx cs, const T* tc,   \
                                         idx tcs, const T* dh, idx dhs, const T* dc, idx dcs,   \
                                         T* d, idx ds, T* d_c, idx d_cs, int b, int n) {        \
    for (idx k = 0; k < b; ++k)                                                                \
      lstm_backward_row<T>(a + k * as, c + k * cs, tc + k * tcs, dh + k * dhs, dc + k * dcs,    \
                           d + k * ds, d_c + k * d_cs, n);                                     \
  }                                                                                            \
  extern "C" void gru_cell_forward_##S(T* gi, idx gis, const T* gh, idx ghs, const T* h,        \
                                       idx hs, T* hn, idx hns, int b, int n) {                 \
    for (idx k = 0; k < b; ++k)                                                                \
      gru_forward_row<T>(gi + k * gis, gh + k * ghs, h + k * hs, hn + k * hns, n);             \
  }                                                                                            \
  extern "C" void gru_cell_backward_##S(const T* rz, idx rzs, const T* nn, idx nns,             \
                                        const T* ghn, idx ghns, const T* h, idx hs,            \
                                        const T* dh, idx dhs, T* dgi, idx dgis, T* dgh,        \
                                        idx dghs, T* d_h, idx d_hs, int b, int n) {            \
    for (idx k = 0; k < b; ++k)                                                                \
      gru_backward_row<T>(rz + k * rzs, nn + k * nns, ghn + k * ghns, h + k * hs,               \
                          dh + k * dhs, dgi + k * dgis, dgh + k * dghs, d_h + k * d_hs, n);     \
  }                                                                                            \
  extern "C" void rnn_cell_forward_##S(const T* pre, idx ps, const T* rec, idx rs, T* h,        \
                                       idx hs, int b, int n, int relu) {                       \
    for (idx k = 0; k < b; ++k) {                                                              \
      const T* p = pre + k * ps;                                                               \
      const T* r = rec ? rec + k * rs : nullptr;                                               \
      if (relu)                                                                                \
        r ? rnn_forward_row<T, true, true>(p, r, h + k * hs, n)                                \
          : rnn_forward_row<T, true, false>(p, r, h + k * hs, n);                              \
      else                                                                                     \
        r ? rnn_forward_row<T, false, true>(p, r, h + k * hs, n)                               \
          : rnn_forward_row<T, false, false>(p, r, h + k * hs, n);                             \
    }                                                                                          \
  }                                                                                            \
  extern "C" void rnn_cell_backward_##S(const T* h, idx hs, const T* dh, idx dhs, T* dp,        \
                                        idx dps, int b, int n, int relu) {                     \
    for (idx k = 0; k < b; ++k)                                                                \
      relu ? rnn_backward_row<T, true>(h + k * hs, dh + k * dhs, dp + k * dps, n)              \
           : rnn_backward_row<T, false>(h + k * hs, dh + k * dhs, dp + k * dps, n);            \
  }                                                                                            \
  extern "C" void log_softmax_##S(const T* x, idx xs, T* out, idx os, int b, int n) {           \
    for (idx k = 0; k < b; ++k) log_softmax_row<T>(x + k * xs, out + k * os, n);                \
  }                                                                                            \
  extern "C" void log_softmax_backward_##S(const T* g, idx gs, const T* out, idx os, T* dx,     \
                                           idx dxs, int b, int n) {                            \
    for (idx k = 0; k < b; ++k)                                                                \
      log_softmax_backward_row<T>(g + k * gs, out + k * os, dx + k * dxs, n);                  \
  }                                                                                            \
  extern "C" void softmax_##S(const T* x, idx xs, T* out, idx os, int b, int n) {               \
    for (idx k = 0; k < b; ++k) softmax_row<T>(x + k * xs, out + k * os, n);                    \
  }                                                                                            \
  extern "C" void softmax_backward_##S(const T* g, idx gs, const T* y, idx ys, T* dx, idx dxs,  \
                                       int b, int n) {                                         \
    for (idx k = 0; k < b; ++k)                                                                \
      softmax_backward_row<T>(g + k * gs, y + k * ys, dx + k * dxs, n);                         \
  }

EXPORT(float, f32)
EXPORT(double, f64)

// the whole time loops of the recurrent layers, threaded over the hidden units, and the
// engine's matrix products split across the same threads (one single-threaded BLAS call each)
#if defined(__clang__)
#define TS_EACH(u, n) _Pragma("clang loop vectorize(assume_safety)") for (int u = 0; u < (n); ++u)
#else
#define TS_EACH(u, n) _Pragma("GCC ivdep") for (int u = 0; u < (n); ++u)
#endif
#include "time_loops.h"
