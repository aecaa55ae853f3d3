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
  T r = gi[row3 + j], z = gi[row3 + hidden + j], nn = gi[row3 + 2 * hidden + j], h1;
  ts::gru_forward(r, z, nn, gh[row3 + j], gh[row3 + hidden + j], gh[row3 + 2 * hidden + j],
                  h[idx], h1);
  rz[row2 + j] = r;
  rz[row2 + hidden + j] = z;
  n[idx] = nn;
  h_new[idx] = h1;
}

template <typename T>
__device__ void gru_backward_kernel(const T* rz, const T* n, const T* gh, const T* h,
                                    const T* dh, T* d_gi, T* d_gh, T* d_h, int batch,
                                    int hidden) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= batch * hidden) return;
  const int b = idx / hidden, j = idx % hidden, row3 = b * 3 * hidden, row2 = b * 2 * hidden;
  T d_r, d_z, d_n, d_ghn, d_h1;
  ts::gru_backward(rz[row2 + j], rz[row2 + hidden + j], n[idx], gh[row3 + 2 * hidden + j],
                   h[idx], dh[idx], d_r, d_z, d_n, d_ghn, d_h1);
  d_gi[row3 + j] = d_r;
  d_gi[row3 + hidden + j] = d_z;
  d_gi[row3 + 2 * hidden + j] = d_n;
  d_gh[row3 + j] = d_r;
  d_gh[row3 + hidden + j] = d_z;
  d_gh[row3 + 2 * hidden + j] = d_ghn;
  d_h[idx] = d_h1;
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
