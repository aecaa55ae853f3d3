// Host build of kernels/cell_math.cuh: the per-element functions of the CUDA kernels, looped
// over arrays with the kernels' layouts, so tests can compare them with the NumPy reference
// (tinygrad_seq/ops/cellmath.py) without a GPU. Compiled by tests/test_kernels.py.
#include "cell_math.cuh"

template <typename T>
void lstm_fwd(const T* gates, const T* c, T* act, T* c_new, T* tc, T* h, int B, int H) {
  for (int b = 0; b < B; ++b)
    for (int j = 0; j < H; ++j) {
      T a[4], aa[4];
      for (int k = 0; k < 4; ++k) a[k] = gates[b * 4 * H + k * H + j];
      ts::lstm_forward(a, c[b * H + j], aa, &c_new[b * H + j], &tc[b * H + j], &h[b * H + j]);
      for (int k = 0; k < 4; ++k) act[b * 4 * H + k * H + j] = aa[k];
    }
}

template <typename T>
void lstm_bwd(const T* act, const T* c, const T* tc, const T* dh, const T* dc, T* d_gates,
              T* d_c, int B, int H) {
  for (int b = 0; b < B; ++b)
    for (int j = 0; j < H; ++j) {
      T aa[4], dg[4];
      for (int k = 0; k < 4; ++k) aa[k] = act[b * 4 * H + k * H + j];
      const int i = b * H + j;
      ts::lstm_backward(aa, c[i], tc[i], dh[i], dc[i], dg, &d_c[i]);
      for (int k = 0; k < 4; ++k) d_gates[b * 4 * H + k * H + j] = dg[k];
    }
}

template <typename T>
void gru_fwd(const T* gi, const T* gh, const T* h, T* rz, T* n, T* h_new, int B, int H) {
  for (int b = 0; b < B; ++b)
    for (int j = 0; j < H; ++j) {
      const T i3[3] = {gi[b * 3 * H + j], gi[b * 3 * H + H + j], gi[b * 3 * H + 2 * H + j]};
      const T h3[3] = {gh[b * 3 * H + j], gh[b * 3 * H + H + j], gh[b * 3 * H + 2 * H + j]};
      ts::gru_forward(i3, h3, h[b * H + j], &rz[b * 2 * H + j], &rz[b * 2 * H + H + j],
                      &n[b * H + j], &h_new[b * H + j]);
    }
}

template <typename T>
void gru_bwd(const T* rz, const T* n, const T* ghn, const T* h, const T* dh, T* d_gi, T* d_gh,
             T* d_h, int B, int H) {
  for (int b = 0; b < B; ++b)
    for (int j = 0; j < H; ++j) {
      T di[3], dg[3];
      const int i = b * H + j;
      ts::gru_backward(rz[b * 2 * H + j], rz[b * 2 * H + H + j], n[i], ghn[i], h[i], dh[i], di,
                       dg, &d_h[i]);
      for (int k = 0; k < 3; ++k) {
        d_gi[b * 3 * H + k * H + j] = di[k];
        d_gh[b * 3 * H + k * H + j] = dg[k];
      }
    }
}

template <typename T>
void log_softmax_rows(const T* x, T* out, int rows, int cols) {
  for (int r = 0; r < rows; ++r) {
    T m = x[r * cols], s = 0;
    for (int j = 1; j < cols; ++j) m = x[r * cols + j] > m ? x[r * cols + j] : m;
    for (int j = 0; j < cols; ++j) s += ts::exp_(x[r * cols + j] - m);
    for (int j = 0; j < cols; ++j)
      out[r * cols + j] = ts::log_softmax_value(x[r * cols + j], m, ts::log_(s));
  }
}

template <typename T>
void log_softmax_grad_rows(const T* g, const T* out, T* dx, int rows, int cols) {
  for (int r = 0; r < rows; ++r) {
    T s = 0;
    for (int j = 0; j < cols; ++j) s += g[r * cols + j];
    for (int j = 0; j < cols; ++j) dx[r * cols + j] = ts::log_softmax_grad(g[r * cols + j], out[r * cols + j], s);
  }
}

#define EXPORT(T, S)                                                                          \
  extern "C" void lstm_forward_##S(const T* a, const T* c, T* act, T* cn, T* tc, T* h, int B, \
                                   int H) { lstm_fwd<T>(a, c, act, cn, tc, h, B, H); }        \
  extern "C" void lstm_backward_##S(const T* act, const T* c, const T* tc, const T* dh,       \
                                    const T* dc, T* dg, T* dcp, int B, int H) {               \
    lstm_bwd<T>(act, c, tc, dh, dc, dg, dcp, B, H);                                           \
  }                                                                                           \
  extern "C" void gru_forward_##S(const T* gi, const T* gh, const T* h, T* rz, T* n, T* hn,   \
                                  int B, int H) { gru_fwd<T>(gi, gh, h, rz, n, hn, B, H); }   \
  extern "C" void gru_backward_##S(const T* rz, const T* n, const T* ghn, const T* h,         \
                                   const T* dh, T* dgi, T* dgh, T* dhp, int B, int H) {       \
    gru_bwd<T>(rz, n, ghn, h, dh, dgi, dgh, dhp, B, H);                                       \
  }                                                                                           \
  extern "C" void log_softmax_##S(const T* x, T* o, int r, int c) { log_softmax_rows<T>(x, o, r, c); } \
  extern "C" void log_softmax_grad_##S(const T* g, const T* o, T* d, int r, int c) {          \
    log_softmax_grad_rows<T>(g, o, d, r, c);                                                  \
  }

EXPORT(float, f32)
EXPORT(double, f64)
