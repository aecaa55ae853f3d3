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
  T i = gates[row + j], f = gates[row + hidden + j], g = gates[row + 2 * hidden + j],
    o = gates[row + 3 * hidden + j], c1, tc1, h1;
  ts::lstm_forward(i, f, g, o, c[idx], c1, tc1, h1);
  act[row + j] = i;
  act[row + hidden + j] = f;
  act[row + 2 * hidden + j] = g;
  act[row + 3 * hidden + j] = o;
  c_new[idx] = c1;
  tc[idx] = tc1;
  h[idx] = h1;
}

// dh or dc may be null: an output that received no gradient
template <typename T>
__device__ void lstm_backward_kernel(const T* act, const T* c, const T* tc, const T* dh,
                                     const T* dc, T* d_gates, T* d_c, int batch, int hidden) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= batch * hidden) return;
  const int b = idx / hidden, j = idx % hidden, row = b * 4 * hidden;
  T i = act[row + j], f = act[row + hidden + j], g = act[row + 2 * hidden + j],
    o = act[row + 3 * hidden + j], d_c1;
  ts::lstm_backward(i, f, g, o, c[idx], tc[idx], dh ? dh[idx] : T(0), dc ? dc[idx] : T(0), d_c1);
  d_gates[row + j] = i;
  d_gates[row + hidden + j] = f;
  d_gates[row + 2 * hidden + j] = g;
  d_gates[row + 3 * hidden + j] = o;
  d_c[idx] = d_c1;
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
