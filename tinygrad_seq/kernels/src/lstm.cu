// Fused LSTM cell, forward and backward: one thread per (batch row, unit) element, running the
// element functions of cell_math.cuh, the same ones host.cpp loops over. Arguments as in
// host.cpp: a pointer and a row stride (in elements) per array, then batch b and hidden n;
// rec may be null (no recurrent term to add).
#include "cell_math.cuh"

#define INSTANTIATE(T, S)                                                                      \
  extern "C" __global__ void lstm_cell_forward_##S(T* g, ts::idx gs, const T* rec, ts::idx rs,  \
                                                   const T* c, ts::idx cs, T* cn, ts::idx ns,   \
                                                   T* tc, ts::idx tcs, T* h, ts::idx hs,        \
                                                   int b, int n) {                              \
    ts::idx k;                                                                                 \
    int j;                                                                                     \
    if (!ts::thread_element(b, n, k, j)) return;                                               \
    if (rec)                                                                                   \
      ts::lstm_forward_at<T, true>(g + k * gs, rec + k * rs, c + k * cs, cn + k * ns,           \
                                   tc + k * tcs, h + k * hs, n, j);                            \
    else                                                                                       \
      ts::lstm_forward_at<T, false>(g + k * gs, rec, c + k * cs, cn + k * ns, tc + k * tcs,     \
                                    h + k * hs, n, j);                                         \
  }                                                                                            \
  extern "C" __global__ void lstm_cell_backward_##S(                                           \
      const T* a, ts::idx as, const T* c, ts::idx cs, const T* tc, ts::idx tcs, const T* dh,    \
      ts::idx dhs, const T* dc, ts::idx dcs, T* d, ts::idx ds, T* d_c, ts::idx d_cs, int b,     \
      int n) {                                                                                 \
    ts::idx k;                                                                                 \
    int j;                                                                                     \
    if (!ts::thread_element(b, n, k, j)) return;                                               \
    ts::lstm_backward_at<T>(a + k * as, c + k * cs, tc + k * tcs, dh + k * dhs, dc + k * dcs,   \
                            d + k * ds, d_c + k * d_cs, n, j);                                 \
  }

INSTANTIATE(float, f32)
INSTANTIATE(double, f64)
