// Fused GRU cell (PyTorch's formulation), forward and backward: one thread per element.
// Layouts as in tinygrad_seq/ops/cellmath.py: gi, gh, d_gi, d_gh (B, 3H); rz (B, 2H); the rest
// (B, H).
#include "cell_math.cuh"

template <typename T>
__device__ void gru_forward_kernel(const T* gi, const T* gh, const T* h, T* rz, T* n,
                                   T* h_new, int batch, int hidden) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= batch * hidden) return;
  const int b = idx / hidden, j = idx % hidden, row3 = b * 3 * hidden, row2 = b * 2 * hidden;
  const T i3[3] = {gi[row3 + j], gi[row3 + hidden + j], gi[row3 + 2 * hidden + j]};
  const T h3[3] = {gh[row3 + j], gh[row3 + hidden + j], gh[row3 + 2 * hidden + j]};
  ts::gru_forward(i3, h3, h[idx], &rz[row2 + j], &rz[row2 + hidden + j], &n[idx], &h_new[idx]);
}

template <typename T>
__device__ void gru_backward_kernel(const T* rz, const T* n, const T* gh, const T* h,
                                    const T* dh, T* d_gi, T* d_gh, T* d_h, int batch,
                                    int hidden) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= batch * hidden) return;
  const int b = idx / hidden, j = idx % hidden, row3 = b * 3 * hidden, row2 = b * 2 * hidden;
  T di[3], dg[3];
  ts::gru_backward(rz[row2 + j], rz[row2 + hidden + j], n[idx], gh[row3 + 2 * hidden + j],
                   h[idx], dh[idx], di, dg, &d_h[idx]);
  for (int k = 0; k < 3; ++k) {
    d_gi[row3 + k * hidden + j] = di[k];
    d_gh[row3 + k * hidden + j] = dg[k];
  }
}

#define INSTANTIATE(T, SUFFIX)                                                               \
  extern "C" __global__ void gru_forward_##SUFFIX(const T* gi, const T* gh, const T* h, T* rz, \
                                                  T* n, T* h_new, int batch, int hidden) {    \
    gru_forward_kernel<T>(gi, gh, h, rz, n, h_new, batch, hidden);                            \
  }                                                                                           \
  extern "C" __global__ void gru_backward_##SUFFIX(const T* rz, const T* n, const T* gh,      \
                                                   const T* h, const T* dh, T* d_gi, T* d_gh, \
                                                   T* d_h, int batch, int hidden) {           \
    gru_backward_kernel<T>(rz, n, gh, h, dh, d_gi, d_gh, d_h, batch, hidden);                 \
  }

INSTANTIATE(float, f32)
INSTANTIATE(double, f64)
