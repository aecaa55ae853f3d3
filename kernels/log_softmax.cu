// Row-wise log-softmax forward and backward (the numerically stable core of cross-entropy):
// one block of 256 threads per row, reductions in shared memory.
#include "cell_math.cuh"

constexpr int kThreads = 256;

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
__device__ void log_softmax_forward_kernel(const T* x, T* out, int cols) {
  __shared__ T shared[kThreads];
  const T* row = x + static_cast<long long>(blockIdx.x) * cols;
  T* dst = out + static_cast<long long>(blockIdx.x) * cols;
  // start from the row's first element, not -INFINITY: NVRTC compiles these kernels at run time
  // without the host headers that define that macro
  T m = row[0];
  for (int j = threadIdx.x; j < cols; j += kThreads) m = row[j] > m ? row[j] : m;
  m = block_reduce(m, shared, true);
  T s = 0;
  for (int j = threadIdx.x; j < cols; j += kThreads) s += ts::exp_(row[j] - m);
  const T log_sum = ts::log_(block_reduce(s, shared, false));
  for (int j = threadIdx.x; j < cols; j += kThreads)
    dst[j] = ts::log_softmax_value(row[j], m, log_sum);
}

template <typename T>
__device__ void log_softmax_backward_kernel(const T* g, const T* out, T* dx, int cols) {
  __shared__ T shared[kThreads];
  const long long offset = static_cast<long long>(blockIdx.x) * cols;
  T s = 0;
  for (int j = threadIdx.x; j < cols; j += kThreads) s += g[offset + j];
  s = block_reduce(s, shared, false);
  for (int j = threadIdx.x; j < cols; j += kThreads)
    dx[offset + j] = ts::log_softmax_grad(g[offset + j], out[offset + j], s);
}

#define INSTANTIATE(T, SUFFIX)                                                                 \
  extern "C" __global__ void log_softmax_forward_##SUFFIX(const T* x, T* out, int cols) {      \
    log_softmax_forward_kernel<T>(x, out, cols);                                               \
  }                                                                                            \
  extern "C" __global__ void log_softmax_backward_##SUFFIX(const T* g, const T* out, T* dx,    \
                                                           int cols) {                         \
    log_softmax_backward_kernel<T>(g, out, dx, cols);                                          \
  }

INSTANTIATE(float, f32)
INSTANTIATE(double, f64)
