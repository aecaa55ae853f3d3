// Fused GRU cell (PyTorch's formulation), forward and backward: one thread per (batch row,
// unit) element, running the element functions of cell_math.cuh, the same ones host.cpp loops
// over. Arguments as in host.cpp: a pointer and a row stride (in elements) per array, then
// batch b and hidden n. The backward reads gh's n block through its own pointer and stride, so
// a strided view of a (B, 3H) buffer needs no copy.
#include "cell_math.cuh"

#define INSTANTIATE(T, S)                                                                      \
  extern "C" __global__ void gru_cell_forward_##S(T* gi, ts::idx gis, const T* gh,              \
                                                  ts::idx ghs, const T* h, ts::idx hs, T* hn,   \
                                                  ts::idx hns, int b, int n) {                  \
    ts::idx k;                                                                                 \
    int j;                                                                                     \
    if (!ts::thread_element(b, n, k, j)) return;                                               \
    ts::gru_forward_at<T>(gi + k * gis, gh + k * ghs, h + k * hs, hn + k * hns, n, j);          \
  }                                                                                            \
  extern "C" __global__ void gru_cell_backward_##S(                                            \
      const T* rz, ts::idx rzs, const T* nn, ts::idx nns, const T* ghn, ts::idx ghns,          \
      const T* h, ts::idx hs, const T* dh, ts::idx dhs, T* dgi, ts::idx dgis, T* dgh,          \
      ts::idx dghs, T* d_h, ts::idx d_hs, int b, int n) {                                      \
    ts::idx k;                                                                                 \
    int j;                                                                                     \
    if (!ts::thread_element(b, n, k, j)) return;                                               \
    ts::gru_backward_at<T>(rz + k * rzs, nn + k * nns, ghn + k * ghns, h + k * hs,              \
                           dh + k * dhs, dgi + k * dgis, dgh + k * dghs, d_h + k * d_hs, n, j); \
  }

INSTANTIATE(float, f32)
INSTANTIATE(double, f64)
