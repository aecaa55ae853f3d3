// Elman RNN cell, forward and backward: one thread per (batch row, unit) element, running the
// element functions of cell_math.cuh, the same ones host.cpp loops over. Arguments as in
// host.cpp: a pointer and a row stride (in elements) per array, batch b, hidden n, and relu
// (0: tanh); rec may be null (no recurrent term to add).
#include "cell_math.cuh"

#define INSTANTIATE(T, S)                                                                      \
  extern "C" __global__ void rnn_cell_forward_##S(const T* pre, ts::idx ps, const T* rec,       \
                                                  ts::idx rs, T* h, ts::idx hs, int b, int n,   \
                                                  int relu) {                                   \
    ts::idx k;                                                                                 \
    int j;                                                                                     \
    if (!ts::thread_element(b, n, k, j)) return;                                               \
    const T* p = pre + k * ps;                                                                 \
    T* out = h + k * hs;                                                                       \
    if (rec) {                                                                                 \
      const T* r = rec + k * rs;                                                               \
      relu ? ts::rnn_forward_at<T, true, true>(p, r, out, j)                                   \
           : ts::rnn_forward_at<T, false, true>(p, r, out, j);                                 \
    } else {                                                                                   \
      relu ? ts::rnn_forward_at<T, true, false>(p, rec, out, j)                                \
           : ts::rnn_forward_at<T, false, false>(p, rec, out, j);                              \
    }                                                                                          \
  }                                                                                            \
  extern "C" __global__ void rnn_cell_backward_##S(const T* h, ts::idx hs, const T* dh,         \
                                                   ts::idx dhs, T* dp, ts::idx dps, int b,      \
                                                   int n, int relu) {                           \
    ts::idx k;                                                                                 \
    int j;                                                                                     \
    if (!ts::thread_element(b, n, k, j)) return;                                               \
    relu ? ts::rnn_backward_at<T, true>(h + k * hs, dh + k * dhs, dp + k * dps, j)              \
         : ts::rnn_backward_at<T, false>(h + k * hs, dh + k * dhs, dp + k * dps, j);            \
  }

INSTANTIATE(float, f32)
INSTANTIATE(double, f64)
