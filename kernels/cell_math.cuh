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

// sigmoid(x) = 0.5 tanh(x / 2) + 0.5
template <typename T>
TS_HD T sigmoid_(T x) { return T(0.5) * tanh_(T(0.5) * x) + T(0.5); }

// The cell functions below take scalars by reference, never arrays: a host compiler
// vectorises a loop over such calls (kernels/host.cpp), while local arrays defeat it.

// LSTM forward for one (batch, unit) element. i, f, g, o come in as the gates'
// pre-activations and leave as their activations (sigmoid for i, f, o; tanh for g). Writes the
// new cell c, tanh(c) and h: the backward needs only the activations, c_prev and tanh(c).
template <typename T>
TS_HD void lstm_forward(T& i, T& f, T& g, T& o, T c_prev, T& c, T& tc, T& h) {
  i = sigmoid_(i);
  f = sigmoid_(f);
  g = tanh_(g);
  o = sigmoid_(o);
  c = f * c_prev + i * g;
  tc = tanh_(c);
  h = o * tc;
}

// LSTM backward for one element: i, f, g, o come in as the activations and leave as the
// gradients of the pre-activations, from dh and dc (the gradients of h' and c'); writes the
// gradient of the previous cell state. The activations' derivatives come from the
// activations: sigmoid' = s (1 - s), tanh' = 1 - g^2.
template <typename T>
TS_HD void lstm_backward(T& i, T& f, T& g, T& o, T c_prev, T tc, T dh, T dc, T& d_c_prev) {
  const T dc_total = dc + dh * o * (T(1) - tc * tc);
  const T d_i = dc_total * g * (i * (T(1) - i));
  const T d_f = dc_total * c_prev * (f * (T(1) - f));
  const T d_g = dc_total * i * (T(1) - g * g);
  const T d_o = dh * tc * (o * (T(1) - o));
  d_c_prev = dc_total * f;
  i = d_i;
  f = d_f;
  g = d_g;
  o = d_o;
}

// GRU (PyTorch's, reset after the hidden matmul) forward for one element. r, z, n come in
// as the input side's pre-activations (x W_ih^T + b_ih) and leave as the activations;
// gh_* = h W_hh^T + b_hh. Writes the new state h.
template <typename T>
TS_HD void gru_forward(T& r, T& z, T& n, T gh_r, T gh_z, T gh_n, T h_prev, T& h) {
  r = sigmoid_(r + gh_r);
  z = sigmoid_(z + gh_z);
  n = tanh_(n + r * gh_n);
  h = n + z * (h_prev - n);
}

// GRU backward for one element: the gradients of the input side's pre-activations (d_r, d_z,
// d_n), of the hidden side's n block (d_gh_n; its r and z blocks equal d_r and d_z) and of h.
template <typename T>
TS_HD void gru_backward(T r, T z, T n, T gh_n, T h_prev, T dh, T& d_r, T& d_z, T& d_n,
                        T& d_gh_n, T& d_h_prev) {
  d_n = dh * (T(1) - z) * (T(1) - n * n);
  d_r = d_n * gh_n * (r * (T(1) - r));
  d_z = dh * (h_prev - n) * (z * (T(1) - z));
  d_gh_n = d_n * r;
  d_h_prev = dh * z;
}

// Elman RNN: h = tanh(pre) or relu(pre), and the gradient of pre from h and dh.
template <typename T>
TS_HD T rnn_forward(T pre, bool relu) {
  return relu ? (pre <= T(0) ? T(0) : pre) : tanh_(pre);  // relu(NaN) is NaN, as in NumPy
}

template <typename T>
TS_HD T rnn_backward(T h, T dh, bool relu) {
  return relu ? dh * T(h > T(0)) : dh * (T(1) - h * h);  // inf * 0 is NaN, as in NumPy
}

// log-softmax of one row, given its maximum and log(sum(exp(x - max))).
template <typename T>
TS_HD T log_softmax_value(T x, T row_max, T log_sum) { return x - row_max - log_sum; }

// its backward: g - exp(out) * sum(g) over the row.
template <typename T>
TS_HD T log_softmax_grad(T g, T out, T g_sum) { return g - exp_(out) * g_sum; }

}  // namespace ts
