// Fused LSTM cell, forward and backward: one thread per (batch, unit) element.
// Layouts as in tinygrad_seq/ops/cellmath.py: gates, act, d_gates (B, 4H); the rest (B, H).
// act may be gates itself (the sequence op overwrites its projections in place).
#include "cell_math.cuh"

template <typename T>
__device__ void lstm_forward_kernel(const T* gates, const T* c, T* act, T* c_new, T* tc, T* h,
                                    int batch, int hidden) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= batch * hidden) return;
  const int b = idx / hidden, j = idx % hidden, row = b * 4 * hidden;
  T a[4], aa[4];
  for (int k = 0; k < 4; ++k) a[k] = gates[row + k * hidden + j];
  ts::lstm_forward(a, c[idx], aa, &c_new[idx], &tc[idx], &h[idx]);
  for (int k = 0; k < 4; ++k) act[row + k * hidden + j] = aa[k];
}

// dh or dc may be null: an output that received no gradient
template <typename T>
__device__ void lstm_backward_kernel(const T* act, const T* c, const T* tc, const T* dh,
                                     const T* dc, T* d_gates, T* d_c, int batch, int hidden) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= batch * hidden) return;
  const int b = idx / hidden, j = idx % hidden, row = b * 4 * hidden;
  T aa[4], dg[4];
  for (int k = 0; k < 4; ++k) aa[k] = act[row + k * hidden + j];
  ts::lstm_backward(aa, c[idx], tc[idx], dh ? dh[idx] : T(0), dc ? dc[idx] : T(0), dg, &d_c[idx]);
  for (int k = 0; k < 4; ++k) d_gates[row + k * hidden + j] = dg[k];
}

#define INSTANTIATE(T, SUFFIX)                                                               \
  extern "C" __global__ void lstm_forward_##SUFFIX(const T* gates, const T* c, T* act,         \
                                                   T* c_new, T* tc, T* h, int batch,           \
                                                   int hidden) {                               \
    lstm_forward_kernel<T>(gates, c, act, c_new, tc, h, batch, hidden);                        \
  }                                                                                            \
  extern "C" __global__ void lstm_backward_##SUFFIX(const T* act, const T* c, const T* tc,     \
                                                    const T* dh, const T* dc, T* d_gates,      \
                                                    T* d_c, int batch, int hidden) {           \
    lstm_backward_kernel<T>(act, c, tc, dh, dc, d_gates, d_c, batch, hidden);                  \
  }

INSTANTIATE(float, f32)
INSTANTIATE(double, f64)
