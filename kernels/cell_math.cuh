// Per-element maths of the fused recurrent cells and of log-softmax, written once for the GPU
// kernels (nvcc) and for the host (g++), so that the same source can be checked against the
// NumPy reference (tinygrad_seq/ops/cellmath.py) on a machine without a GPU.
//
// Gate order follows PyTorch: LSTM (i, f, g, o), GRU (r, z, n). Sigmoid is 0.5 tanh(x/2) + 0.5,
// as in the reference: tanh saturates to +-1, so large |x| never overflows to inf or NaN.
#pragma once

#ifdef __CUDACC__
#define TS_HD __host__ __device__ __forceinline__
#else
#include <cmath>
#define TS_HD inline
#endif

namespace ts {

TS_HD float tanh_(float x) { return tanhf(x); }
TS_HD double tanh_(double x) { return tanh(x); }
TS_HD float exp_(float x) { return expf(x); }
TS_HD double exp_(double x) { return exp(x); }
TS_HD float log_(float x) { return logf(x); }
TS_HD double log_(double x) { return log(x); }

// LSTM forward for one (batch, unit) element. a[k] is gate k's pre-activation.
// Writes the activations act[k] (sigmoid for i, f, o; tanh for g), the new cell c, tanh(c)
// and h: the arrays the reference keeps (the backward needs only act, c_prev and tanh(c)).
template <typename T>
TS_HD void lstm_forward(const T a[4], T c_prev, T act[4], T* c, T* tc, T* h) {
  for (int k = 0; k < 4; ++k) {
    const T s = k == 2 ? T(1) : T(0.5);
    const T t = tanh_(s * a[k]);
    act[k] = k == 2 ? t : T(0.5) * t + T(0.5);
  }
  *c = act[1] * c_prev + act[0] * act[2];
  *tc = tanh_(*c);
  *h = act[3] * *tc;
}

// LSTM backward for one element: from dh and dc (the gradients of h' and c'), the gradients
// of the four pre-activations and of the previous cell state. The activations' derivatives
// come from the activations: sigmoid' = s (1 - s), tanh' = 1 - g^2.
template <typename T>
TS_HD void lstm_backward(const T act[4], T c_prev, T tc, T dh, T dc, T d_gates[4],
                         T* d_c_prev) {
  const T dc_total = dc + dh * act[3] * (T(1) - tc * tc);
  const T d_act[4] = {dc_total * act[2], dc_total * c_prev, dc_total * act[0], dh * tc};
  for (int k = 0; k < 4; ++k) {
    const T slope = k == 2 ? T(1) - act[k] * act[k] : act[k] * (T(1) - act[k]);
    d_gates[k] = d_act[k] * slope;
  }
  *d_c_prev = dc_total * act[1];
}

// GRU (PyTorch's, reset after the hidden matmul) forward for one element.
// gi = x W_ih^T + b_ih and gh = h W_hh^T + b_hh for gates r, z, n.
template <typename T>
TS_HD void gru_forward(const T gi[3], const T gh[3], T h_prev, T* r, T* z, T* n, T* h) {
  *r = T(0.5) * tanh_(T(0.5) * (gi[0] + gh[0])) + T(0.5);
  *z = T(0.5) * tanh_(T(0.5) * (gi[1] + gh[1])) + T(0.5);
  *n = tanh_(gi[2] + *r * gh[2]);
  *h = *n + *z * (h_prev - *n);
}

template <typename T>
TS_HD void gru_backward(T r, T z, T n, T gh_n, T h_prev, T dh, T d_gi[3], T d_gh[3],
                        T* d_h_prev) {
  const T dn = dh * (T(1) - z) * (T(1) - n * n);
  d_gi[0] = dn * gh_n * r * (T(1) - r);
  d_gi[1] = dh * (h_prev - n) * z * (T(1) - z);
  d_gi[2] = dn;
  d_gh[0] = d_gi[0];
  d_gh[1] = d_gi[1];
  d_gh[2] = dn * r;
  *d_h_prev = dh * z;
}

// log-softmax of one row, given its maximum and log(sum(exp(x - max))).
template <typename T>
TS_HD T log_softmax_value(T x, T row_max, T log_sum) { return x - row_max - log_sum; }

// its backward: g - exp(out) * sum(g) over the row.
template <typename T>
TS_HD T log_softmax_grad(T g, T out, T g_sum) { return g - exp_(out) * g_sum; }

}  // namespace ts
