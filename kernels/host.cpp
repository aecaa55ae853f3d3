// CPU build of the fused recurrent cells and of log-softmax: the per-element functions of
// cell_math.cuh (the same ones the CUDA kernels run), looped over rows. tinygrad_seq/host_kernels.py
// compiles this file at first use with the system's C++ compiler and calls it through ctypes;
// ops/cellmath.py is the NumPy reference it must agree with (tests/test_host_kernels.py).
//
// Layouts are those of cellmath.py: LSTM gates (B, 4H) in blocks (i, f, g, o), GRU
// projections (B, 3H) in blocks (r, z, n), states (B, H). Every 2-D array comes as a pointer and
// its row stride in elements (its columns are contiguous), so views such as the r, z block of
// a (B, 3H) buffer need no copy. Outputs never overlap inputs, except the LSTM gates and the
// GRU input projections, which are overwritten in place by their activations.
#include <cmath>
#include <cstdint>

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
using idx = std::int64_t;

namespace {

// One row of every loop below is a separate function with restrict-qualified pointers, and
// the cell functions get locals: both are what lets the compiler vectorise the loop.
template <typename T, bool kRec>
void lstm_forward_row(T* R g, const T* R rec, const T* R c, T* R c_new, T* R tc, T* R h,
                      int n) {
  for (int j = 0; j < n; ++j) {
    T i = g[j], f = g[n + j], gg = g[2 * n + j], o = g[3 * n + j], c1, tc1, h1;
    if (kRec) {
      i += rec[j];
      f += rec[n + j];
      gg += rec[2 * n + j];
      o += rec[3 * n + j];
    }
    ts::lstm_forward(i, f, gg, o, c[j], c1, tc1, h1);
    g[j] = i;
    g[n + j] = f;
    g[2 * n + j] = gg;
    g[3 * n + j] = o;
    c_new[j] = c1;
    tc[j] = tc1;
    h[j] = h1;
  }
}

template <typename T>
void lstm_backward_row(const T* R act, const T* R c, const T* R tc, const T* R dh,
                       const T* R dc, T* R d, T* R d_c, int n) {
  for (int j = 0; j < n; ++j) {
    T i = act[j], f = act[n + j], g = act[2 * n + j], o = act[3 * n + j], d_c1;
    ts::lstm_backward(i, f, g, o, c[j], tc[j], dh[j], dc[j], d_c1);
    d[j] = i;
    d[n + j] = f;
    d[2 * n + j] = g;
    d[3 * n + j] = o;
    d_c[j] = d_c1;
  }
}

template <typename T>
void gru_forward_row(T* R gi, const T* R gh, const T* R h, T* R h_new, int n) {
  for (int j = 0; j < n; ++j) {
    T r = gi[j], z = gi[n + j], nn = gi[2 * n + j], h1;
    ts::gru_forward(r, z, nn, gh[j], gh[n + j], gh[2 * n + j], h[j], h1);
    gi[j] = r;
    gi[n + j] = z;
    gi[2 * n + j] = nn;
    h_new[j] = h1;
  }
}

template <typename T>
void gru_backward_row(const T* R rz, const T* R nn, const T* R ghn, const T* R h, const T* R dh,
                      T* R d_gi, T* R d_gh, T* R d_h, int n) {
  for (int j = 0; j < n; ++j) {
    T d_r, d_z, d_n, d_ghn, d_h1;
    ts::gru_backward(rz[j], rz[n + j], nn[j], ghn[j], h[j], dh[j], d_r, d_z, d_n, d_ghn, d_h1);
    d_gi[j] = d_r;
    d_gi[n + j] = d_z;
    d_gi[2 * n + j] = d_n;
    d_gh[j] = d_r;
    d_gh[n + j] = d_z;
    d_gh[2 * n + j] = d_ghn;
    d_h[j] = d_h1;
  }
}

template <typename T, bool kRelu, bool kRec>
void rnn_forward_row(const T* R pre, const T* R rec, T* R h, int n) {
  for (int j = 0; j < n; ++j) h[j] = ts::rnn_forward(kRec ? pre[j] + rec[j] : pre[j], kRelu);
}

template <typename T, bool kRelu>
void rnn_backward_row(const T* R h, const T* R dh, T* R d_pre, int n) {
  for (int j = 0; j < n; ++j) d_pre[j] = ts::rnn_backward(h[j], dh[j], kRelu);
}

template <typename T>
void log_softmax_row(const T* R x, T* R out, int n) {
  T m = x[0], s = 0;
  for (int j = 1; j < n; ++j) m = x[j] > m ? x[j] : m;
  for (int j = 0; j < n; ++j) out[j] = x[j] - m;
  for (int j = 0; j < n; ++j) s += ts::exp_(out[j]);
  const T log_sum = ts::log_(s);
  for (int j = 0; j < n; ++j) out[j] = ts::log_softmax_value(x[j], m, log_sum);
}

template <typename T>
void log_softmax_grad_row(const T* R g, const T* R out, T* R dx, int n) {
  T s = 0;
  for (int j = 0; j < n; ++j) s += g[j];
  for (int j = 0; j < n; ++j) dx[j] = ts::log_softmax_grad(g[j], out[j], s);
}

}  // namespace

#define EXPORT(T, S)                                                                           \
  extern "C" void lstm_forward_##S(T* g, idx gs, const T* rec, idx rs, const T* c, idx cs,      \
                                   T* cn, idx ns, T* tc, idx ts, T* h, idx hs, int b, int n) {  \
    for (int k = 0; k < b; ++k) {                                                              \
      if (rec)                                                                                 \
        lstm_forward_row<T, true>(g + k * gs, rec + k * rs, c + k * cs, cn + k * ns,            \
                                  tc + k * ts, h + k * hs, n);                                 \
      else                                                                                     \
        lstm_forward_row<T, false>(g + k * gs, nullptr, c + k * cs, cn + k * ns, tc + k * ts,   \
                                   h + k * hs, n);                                             \
    }                                                                                          \
  }                                                                                            \
  extern "C" void lstm_backward_##S(const T* a, idx as, const T* c, idx cs, const T* tc,        \
                                    idx ts, const T* dh, idx dhs, const T* dc, idx dcs, T* d,   \
                                    idx ds, T* d_c, idx d_cs, int b, int n) {                   \
    for (int k = 0; k < b; ++k)                                                                \
      lstm_backward_row<T>(a + k * as, c + k * cs, tc + k * ts, dh + k * dhs, dc + k * dcs,     \
                           d + k * ds, d_c + k * d_cs, n);                                     \
  }                                                                                            \
  extern "C" void gru_forward_##S(T* gi, idx gis, const T* gh, idx ghs, const T* h, idx hs,     \
                                  T* hn, idx hns, int b, int n) {                              \
    for (int k = 0; k < b; ++k)                                                                \
      gru_forward_row<T>(gi + k * gis, gh + k * ghs, h + k * hs, hn + k * hns, n);             \
  }                                                                                            \
  extern "C" void gru_backward_##S(const T* rz, idx rzs, const T* nn, idx nns, const T* ghn,    \
                                   idx ghns, const T* h, idx hs, const T* dh, idx dhs, T* dgi,  \
                                   idx dgis, T* dgh, idx dghs, T* d_h, idx d_hs, int b, int n) { \
    for (int k = 0; k < b; ++k)                                                                \
      gru_backward_row<T>(rz + k * rzs, nn + k * nns, ghn + k * ghns, h + k * hs,               \
                          dh + k * dhs, dgi + k * dgis, dgh + k * dghs, d_h + k * d_hs, n);     \
  }                                                                                            \
  extern "C" void rnn_forward_##S(const T* pre, idx ps, const T* rec, idx rs, T* h, idx hs,     \
                                  int b, int n, int relu) {                                    \
    for (int k = 0; k < b; ++k) {                                                              \
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
  extern "C" void rnn_backward_##S(const T* h, idx hs, const T* dh, idx dhs, T* dp, idx dps,    \
                                   int b, int n, int relu) {                                   \
    for (int k = 0; k < b; ++k)                                                                \
      relu ? rnn_backward_row<T, true>(h + k * hs, dh + k * dhs, dp + k * dps, n)              \
           : rnn_backward_row<T, false>(h + k * hs, dh + k * dhs, dp + k * dps, n);            \
  }                                                                                            \
  extern "C" void log_softmax_##S(const T* x, idx xs, T* out, idx os, int b, int n) {           \
    for (int k = 0; k < b; ++k) log_softmax_row<T>(x + k * xs, out + k * os, n);                \
  }                                                                                            \
  extern "C" void log_softmax_grad_##S(const T* g, idx gs, const T* out, idx os, T* dx,         \
                                       idx dxs, int b, int n) {                                \
    for (int k = 0; k < b; ++k) log_softmax_grad_row<T>(g + k * gs, out + k * os, dx + k * dxs, n); \
  }

EXPORT(float, f32)
EXPORT(double, f64)
