// Per-element maths of the fused recurrent cells and of log-softmax, written once for the GPU
// kernels (nvcc / NVRTC) and for the host (g++), so that the same source is checked against the
// NumPy reference (tinygrad_seq/kernels/reference.py) on a machine without a GPU.
//
// Gate order follows PyTorch: LSTM (i, f, g, o), GRU (r, z, n). Sigmoid is 0.5 tanh(x/2) + 0.5,
// as in the reference: tanh saturates to +-1, so large |x| never overflows to inf or NaN.
//
// Two levels: the cell functions (lstm_forward, ...) take scalars by reference, and the
// element functions (lstm_forward_at, ...) read and write element j of one batch row, given
// pointers to that row of every array. host.cpp loops the element functions over j and the
// rows; each .cu kernel runs one of them per thread. Host and device thus share the arguments
// (pointer and row stride per array, then the batch and hidden sizes) and the whole body.
#pragma once

#ifdef __CUDACC__
#define TS_HD __host__ __device__ __forceinline__
#else
#include <cmath>
#define TS_HD inline
#endif
#define TS_R __restrict__

namespace ts {

using idx = long long;  // row strides, in elements

TS_HD float tanh_(float x) { return tanhf(x); }
TS_HD double tanh_(double x) { return tanh(x); }
TS_HD float exp_(float x) { return expf(x); }
TS_HD double exp_(double x) { return exp(x); }
TS_HD float log_(float x) { return logf(x); }
TS_HD double log_(double x) { return log(x); }

// sigmoid(x) = 0.5 tanh(x / 2) + 0.5
template <typename T>
TS_HD T sigmoid_(T x) { return T(0.5) * tanh_(T(0.5) * x) + T(0.5); }

// ---- the cells, on scalars (by reference, never arrays: a host compiler vectorises a loop
// over such calls, while local arrays defeat it) ---------------------------------------------

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

// softmax's backward, from its output y: y (g - sum(g y)) over the row.
template <typename T>
TS_HD T softmax_grad(T g, T y, T gy_sum) { return y * (g - gy_sum); }

#ifdef __CUDACC__
// The element (batch row k, unit j) of the thread, in a grid of at least b * n threads; false
// for the threads past the end.
__device__ __forceinline__ bool thread_element(int b, int n, idx& k, int& j) {
  const idx e = idx(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= idx(b) * n) return false;
  k = e / n;
  j = int(e % n);
  return true;
}
#endif

// ---- element j of one batch row: the body of every entry point -----------------------------
// Layouts are those of kernels/reference.py: LSTM gates (B, 4H) in blocks (i, f, g, o), GRU
// projections (B, 3H) in blocks (r, z, n), states (B, H); n is H. Outputs never overlap inputs,
// except the LSTM gates and the GRU input projections, overwritten by their activations.

// the gates g (the pre-activations, plus rec = h W_hh^T when kRec) become the activations
template <typename T, bool kRec>
TS_HD void lstm_forward_at(T* TS_R g, const T* TS_R rec, const T* TS_R c, T* TS_R c_new,
                           T* TS_R tc, T* TS_R h, int n, int j) {
  T i = g[j], f = g[n + j], gg = g[2 * n + j], o = g[3 * n + j], c1, tc1, h1;
  if (kRec) {
    i += rec[j];
    f += rec[n + j];
    gg += rec[2 * n + j];
    o += rec[3 * n + j];
  }
  lstm_forward(i, f, gg, o, c[j], c1, tc1, h1);
  g[j] = i;
  g[n + j] = f;
  g[2 * n + j] = gg;
  g[3 * n + j] = o;
  c_new[j] = c1;
  tc[j] = tc1;
  h[j] = h1;
}

template <typename T>
TS_HD void lstm_backward_at(const T* TS_R act, const T* TS_R c, const T* TS_R tc,
                            const T* TS_R dh, const T* TS_R dc, T* TS_R d, T* TS_R d_c, int n,
                            int j) {
  T i = act[j], f = act[n + j], g = act[2 * n + j], o = act[3 * n + j], d_c1;
  lstm_backward(i, f, g, o, c[j], tc[j], dh[j], dc[j], d_c1);
  d[j] = i;
  d[n + j] = f;
  d[2 * n + j] = g;
  d[3 * n + j] = o;
  d_c[j] = d_c1;
}

// gi's blocks r, z, n (the input side's pre-activations) become the activations
template <typename T>
TS_HD void gru_forward_at(T* TS_R gi, const T* TS_R gh, const T* TS_R h, T* TS_R h_new, int n,
                          int j) {
  T r = gi[j], z = gi[n + j], nn = gi[2 * n + j], h1;
  gru_forward(r, z, nn, gh[j], gh[n + j], gh[2 * n + j], h[j], h1);
  gi[j] = r;
  gi[n + j] = z;
  gi[2 * n + j] = nn;
  h_new[j] = h1;
}

// rz (B, 2H), nn and ghn (the n block of h W_hh^T + b_hh) (B, H); writes d_gi, d_gh (B, 3H)
template <typename T>
TS_HD void gru_backward_at(const T* TS_R rz, const T* TS_R nn, const T* TS_R ghn,
                           const T* TS_R h, const T* TS_R dh, T* TS_R d_gi, T* TS_R d_gh,
                           T* TS_R d_h, int n, int j) {
  T d_r, d_z, d_n, d_ghn, d_h1;
  gru_backward(rz[j], rz[n + j], nn[j], ghn[j], h[j], dh[j], d_r, d_z, d_n, d_ghn, d_h1);
  d_gi[j] = d_r;
  d_gi[n + j] = d_z;
  d_gi[2 * n + j] = d_n;
  d_gh[j] = d_r;
  d_gh[n + j] = d_z;
  d_gh[2 * n + j] = d_ghn;
  d_h[j] = d_h1;
}

template <typename T, bool kRelu, bool kRec>
TS_HD void rnn_forward_at(const T* TS_R pre, const T* TS_R rec, T* TS_R h, int j) {
  h[j] = rnn_forward(kRec ? pre[j] + rec[j] : pre[j], kRelu);
}

template <typename T, bool kRelu>
TS_HD void rnn_backward_at(const T* TS_R h, const T* TS_R dh, T* TS_R d_pre, int j) {
  d_pre[j] = rnn_backward(h[j], dh[j], kRelu);
}

}  // namespace ts
