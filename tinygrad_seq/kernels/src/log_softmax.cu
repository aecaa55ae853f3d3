// Row-wise log-softmax (the numerically stable core of cross-entropy) and softmax (attention's
// weights), forward and backward:
// one block of kThreads threads per row, reductions in shared memory. Arguments as in
// host.cpp: a pointer and a row stride (in elements) per array, then the rows b and columns n.
#include "cell_math.cuh"

constexpr int kThreads = 256;  // the launch's block size (kernels/cuda.py, ROW_THREADS)

template <typename T>
__device__ T block_reduce(T value, T* shared, bool take_max) {
  shared[threadIdx.x] = value;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) {
      const T other = shared[threadIdx.x + stride];
      const T mine = shared[threadIdx.x];
      shared[threadIdx.x] = take_max ? (other > mine ? other : mine) : mine + other;
    }
    __syncthreads();
  }
  const T result = shared[0];
  __syncthreads();
  return result;
}

template <typename T>
__device__ void log_softmax_rows(const T* x, ts::idx xs, T* out, ts::idx os, int n) {
  __shared__ T shared[kThreads];
  const T* row = x + blockIdx.x * xs;
  T* dst = out + blockIdx.x * os;
  // start from the row's first element, not -INFINITY: NVRTC compiles these kernels at run time
  // without the host headers that define that macro
  T m = row[0];
  for (int j = threadIdx.x; j < n; j += kThreads) m = row[j] > m ? row[j] : m;
  m = block_reduce(m, shared, true);
  T s = 0;
  for (int j = threadIdx.x; j < n; j += kThreads) s += ts::exp_(row[j] - m);
  const T log_sum = ts::log_(block_reduce(s, shared, false));
  for (int j = threadIdx.x; j < n; j += kThreads)
    dst[j] = ts::log_softmax_value(row[j], m, log_sum);
}

template <typename T>
__device__ void log_softmax_backward_rows(const T* g, ts::idx gs, const T* out, ts::idx os,
                                          T* dx, ts::idx dxs, int n) {
  __shared__ T shared[kThreads];
  const T* g_row = g + blockIdx.x * gs;
  const T* out_row = out + blockIdx.x * os;
  T* dx_row = dx + blockIdx.x * dxs;
  T s = 0;
  for (int j = threadIdx.x; j < n; j += kThreads) s += g_row[j];
  s = block_reduce(s, shared, false);
  for (int j = threadIdx.x; j < n; j += kThreads)
    dx_row[j] = ts::log_softmax_grad(g_row[j], out_row[j], s);
}

template <typename T>
__device__ void softmax_rows(const T* x, ts::idx xs, T* out, ts::idx os, int n) {
  __shared__ T shared[kThreads];
  const T* row = x + blockIdx.x * xs;
  T* dst = out + blockIdx.x * os;
  T m = row[0];
  for (int j = threadIdx.x; j < n; j += kThreads) m = row[j] > m ? row[j] : m;
  m = block_reduce(m, shared, true);
  T s = 0;
  for (int j = threadIdx.x; j < n; j += kThreads) s += ts::exp_(row[j] - m);
  const T inv = T(1) / block_reduce(s, shared, false);
  for (int j = threadIdx.x; j < n; j += kThreads) dst[j] = ts::exp_(row[j] - m) * inv;
}

template <typename T>
__device__ void softmax_backward_rows(const T* g, ts::idx gs, const T* y, ts::idx ys, T* dx,
                                      ts::idx dxs, int n) {
  __shared__ T shared[kThreads];
  const T* g_row = g + blockIdx.x * gs;
  const T* y_row = y + blockIdx.x * ys;
  T* dx_row = dx + blockIdx.x * dxs;
  T s = 0;
  for (int j = threadIdx.x; j < n; j += kThreads) s += g_row[j] * y_row[j];
  s = block_reduce(s, shared, false);
  for (int j = threadIdx.x; j < n; j += kThreads)
    dx_row[j] = ts::softmax_grad(g_row[j], y_row[j], s);
}

// b, the number of rows, is the grid size: each block takes row blockIdx.x
#define INSTANTIATE(T, S)                                                                      \
  extern "C" __global__ void log_softmax_##S(const T* x, ts::idx xs, T* out, ts::idx os, int b, \
                                             int n) {                                          \
    log_softmax_rows<T>(x, xs, out, os, n);                                                    \
  }                                                                                            \
  extern "C" __global__ void log_softmax_backward_##S(const T* g, ts::idx gs, const T* out,     \
                                                      ts::idx os, T* dx, ts::idx dxs, int b,    \
                                                      int n) {                                  \
    log_softmax_backward_rows<T>(g, gs, out, os, dx, dxs, n);                                  \
  }                                                                                            \
  extern "C" __global__ void softmax_##S(const T* x, ts::idx xs, T* out, ts::idx os, int b,     \
                                         int n) {                                              \
    softmax_rows<T>(x, xs, out, os, n);                                                        \
  }                                                                                            \
  extern "C" __global__ void softmax_backward_##S(const T* g, ts::idx gs, const T* y,           \
                                                  ts::idx ys, T* dx, ts::idx dxs, int b,        \
                                                  int n) {                                      \
    softmax_backward_rows<T>(g, gs, y, ys, dx, dxs, n);                                        \
  }

INSTANTIATE(float, f32)
INSTANTIATE(double, f64)
