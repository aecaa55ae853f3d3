// The whole time loop of one direction of one recurrent layer, forward and BPTT backward, for
// the LSTM, the GRU and the Elman RNN, on the pool's threads (pool.h). Each thread owns a slice
// of the hidden units; at every step it computes its slice of h W_hh^T with a single-threaded
// product (step_gemm.h), then the cell maths of its units (cell_math.cuh, the bodies the CUDA kernels
// run). One barrier per step, since the next step's GEMM reads every unit: one multi-threaded
// BLAS call per step would pay a fork/join and the cache traffic of all of W_hh every step.
// The backward is the mirror image: the cell backward of its units, a barrier, then its slice
// of dh = d_pre W_hh (every unit's d_pre is read).
//
// Layouts (row-major, contiguous), T steps, B rows, I inputs, H units, G = gates * H:
//   x (T, B, I)        the layer's input; w_ih (G, I) as PyTorch stores it
//   act (T, B, G)      written by the forward: the gates' activations (the LSTM's i f g o, the
//                      GRU's r z n), which its backward reads
//   hs, cs (T+1, B, H) the states: step t reads slot t and writes slot t + 1 (reverse: reads
//                      t + 1, writes t); the caller fills the first slot read with h0, c0
//   w_hh (G, H)        as PyTorch stores it
// ops/sequence.py holds the NumPy loops these must agree with (tests/test_time_loops.py).
// Every entry point writes [wall time, the barrier waits of all its threads summed] (ns) into
// `stats`.
#pragma once

#include <cstdint>
#include <vector>

#include "gemm.h"
#include "pool.h"
#include "step_gemm.h"

namespace ts_loops {

using ts_gemm::Blas;
using ts_step::StepGemm;

// threads worth using: each needs a slice of at least 16 units, and a step's products must be
// large enough (2 B G K flops, K the summed widths they read) for the barrier's microseconds
// not to dominate
inline int useful_threads(int threads, int batch, int gates, int hidden, int reads) {
  if (2.0 * batch * gates * reads < 2e6) return 1;
  const int by_units = hidden / 16;
  threads = threads > by_units ? by_units : threads;
  return threads < 1 ? 1 : threads;
}

// Runs body(j0, nk, barrier) on the useful threads, unit slices [j0, j0 + nk); records stats.
template <typename F>
void on_unit_slices(int threads, int hidden, int64_t* stats, F body) {
  const int64_t start = ts_pool::now_ns();
  ts_pool::Barrier barrier(threads);
  std::vector<int64_t> waited(threads, 0);
  ts_pool::Pool::get().run(threads, [&](int k) {
    const int j0 = static_cast<int>(ts_pool::part_begin(hidden, threads, k));
    const int j1 = static_cast<int>(ts_pool::part_begin(hidden, threads, k + 1));
    waited[k] = body(j0, j1 - j0, barrier);
  });
  stats[0] = ts_pool::now_ns() - start;
  stats[1] = 0;
  for (int64_t w : waited) stats[1] += w;
}

// this thread's rows of a (G, cols) weight: for each of the `gates` blocks, rows
// j0 .. j0 + nk, packed contiguously ((gates nk) x cols) for one product per step
template <typename T>
std::vector<T> rows_of(const T* w, int gates, int hidden, int j0, int nk, int cols) {
  std::vector<T> out(static_cast<size_t>(gates) * nk * cols);
  for (int q = 0; q < gates; ++q)
    for (int u = 0; u < nk; ++u)
      for (int k = 0; k < cols; ++k)
        out[(static_cast<size_t>(q) * nk + u) * cols + k] =
            w[(static_cast<int64_t>(q) * hidden + j0 + u) * cols + k];
  return out;
}

struct Step {  // where step s of the loop reads and writes
  int64_t t, before, after;
  Step(int s, int steps, bool forward_in_time, bool reverse) {
    t = (forward_in_time != static_cast<bool>(reverse)) ? s : steps - 1 - s;
    before = reverse ? t + 1 : t;
    after = reverse ? t : t + 1;
  }
};

// ---- LSTM -----------------------------------------------------------------------------------

// one row of one thread's units: loc (4 nk, blocks i f g o) is its slice of
// x W_ih^T + h W_hh^T, b the summed biases (kBias); act (that row, 4H wide) gets the gates'
// activations, which the backward reads
template <typename T, bool kBias>
void lstm_units(T* TS_R act, const T* TS_R loc, const T* TS_R b, const T* TS_R c,
                T* TS_R c_new, T* TS_R tc, T* TS_R h, int hidden, int j0, int nk) {
  TS_EACH(u, nk) {
    const int j = j0 + u;
    T i = loc[u], f = loc[nk + u], gt = loc[2 * nk + u], o = loc[3 * nk + u], c1, tc1, h1;
    if (kBias) {
      i += b[j];
      f += b[hidden + j];
      gt += b[2 * hidden + j];
      o += b[3 * hidden + j];
    }
    ts::lstm_forward(i, f, gt, o, c[j], c1, tc1, h1);
    act[j] = i;
    act[hidden + j] = f;
    act[2 * hidden + j] = gt;
    act[3 * hidden + j] = o;
    c_new[j] = c1;
    tc[j] = tc1;
    h[j] = h1;
  }
}

// kOut: a gradient reaches the step's output too (d_out), not only the carried state; a
// template argument rather than a test in the loop, which would keep it from vectorising
template <typename T, bool kOut>
void lstm_units_backward(const T* TS_R act, const T* TS_R c, const T* TS_R tc,
                         const T* TS_R d_out, T* TS_R dh, T* TS_R dc, T* TS_R d, int hidden,
                         int j0, int nk) {
  TS_EACH(u, nk) {
    const int j = j0 + u;
    T i = act[j], f = act[hidden + j], g = act[2 * hidden + j], o = act[3 * hidden + j], d_c1;
    const T into_h = kOut ? dh[j] + d_out[j] : dh[j];
    ts::lstm_backward(i, f, g, o, c[j], tc[j], into_h, dc[j], d_c1);
    d[j] = i;
    d[hidden + j] = f;
    d[2 * hidden + j] = g;
    d[3 * hidden + j] = o;
    dc[j] = d_c1;
  }
}

// A thread's two per-step products: its slice of x_t W_ih^T (the input side, also computed
// here, step by step, rather than as one GEMM beforehand: the same flops through the faster
// step kernel, and no (T, B, G) projection written and read back) and of h W_hh^T.
template <typename T>
struct Products {
  std::vector<T> w_in, w_rec;
  StepGemm<T> in, rec;
  Products(const Blas& blas, const T* w_ih, const T* w_hh, int gates, int inputs, int hidden,
           int j0, int nk)
      : w_in(rows_of(w_ih, gates, hidden, j0, nk, inputs)),
        w_rec(rows_of(w_hh, gates, hidden, j0, nk, hidden)),
        in(blas, w_in.data(), inputs, true, inputs, gates * nk),
        rec(blas, w_rec.data(), hidden, true, hidden, gates * nk) {}
};

// x (T, B, I), w_ih (4H, I), b (4H) the summed biases or null; act (T, B, 4H) written (the
// gates' activations); hs, cs, tc as the layout comment says
template <typename T>
void lstm_forward(const Blas& blas, int threads, const T* x, const T* w_ih, const T* b,
                  const T* w_hh, T* act, T* hs, T* cs, T* tc, int steps, int batch, int inputs,
                  int hidden, int reverse, int64_t* stats) {
  const int64_t bh = int64_t(batch) * hidden, g4 = 4 * int64_t(hidden);
  threads = useful_threads(threads, batch, 4 * hidden, hidden, hidden + inputs);
  on_unit_slices(threads, hidden, stats, [&](int j0, int nk, ts_pool::Barrier& barrier) {
    const Products<T> mm(blas, w_ih, w_hh, 4, inputs, hidden, j0, nk);
    std::vector<T> loc(static_cast<size_t>(batch) * 4 * nk);
    int64_t waited = 0;
    for (int s = 0; s < steps; ++s) {
      const Step at(s, steps, true, reverse);
      mm.in.run(batch, x + at.t * batch * inputs, inputs, loc.data(), 4 * nk, false);
      mm.rec.run(batch, hs + at.before * bh, hidden, loc.data(), 4 * nk, true);
      for (int bi = 0; bi < batch; ++bi) {
        const int64_t row = at.before * bh + bi * hidden, out = at.after * bh + bi * hidden;
        T* a = act + (at.t * batch + bi) * g4;
        const T* l = loc.data() + bi * 4 * nk;
        T* t_c = tc + at.t * bh + bi * hidden;
        if (b)
          lstm_units<T, true>(a, l, b, cs + row, cs + out, t_c, hs + out, hidden, j0, nk);
        else
          lstm_units<T, false>(a, l, b, cs + row, cs + out, t_c, hs + out, hidden, j0, nk);
      }
      waited += barrier.wait();
    }
    return waited;
  });
}

// dh, dc (B, H): in, the gradients of h_n and c_n; out, those of h0 and c0. d_out (T, B, H)
// or null; d_pre (T, B, 4H) written.
template <typename T>
void lstm_backward(const Blas& blas, int threads, const T* act, const T* w_hh, const T* cs,
                   const T* tc, const T* d_out, T* dh, T* dc, T* d_pre, int steps, int batch,
                   int hidden, int reverse, int64_t* stats) {
  const int64_t bh = int64_t(batch) * hidden, g4 = 4 * int64_t(hidden);
  threads = useful_threads(threads, batch, 4 * hidden, hidden, hidden);
  on_unit_slices(threads, hidden, stats, [&](int j0, int nk, ts_pool::Barrier& barrier) {
    const StepGemm<T> back(blas, w_hh + j0, hidden, false, 4 * hidden, nk);  // W_hh[:, units]
    int64_t waited = 0;
    for (int s = 0; s < steps; ++s) {
      const Step at(s, steps, false, reverse);
      for (int b = 0; b < batch; ++b) {
        const T* act_b = act + (at.t * batch + b) * g4;
        const T *c = cs + at.before * bh + b * hidden, *t_c = tc + at.t * bh + b * hidden;
        T *d = d_pre + (at.t * batch + b) * g4, *dh_b = dh + b * hidden, *dc_b = dc + b * hidden;
        if (d_out)
          lstm_units_backward<T, true>(act_b, c, t_c, d_out + at.t * bh + b * hidden, dh_b,
                                       dc_b, d, hidden, j0, nk);
        else
          lstm_units_backward<T, false>(act_b, c, t_c, nullptr, dh_b, dc_b, d, hidden, j0, nk);
      }
      waited += barrier.wait();  // the GEMM reads every unit's gradients of this step
      back.run(batch, d_pre + at.t * batch * g4, 4 * hidden, dh + j0, hidden, false);
    }
    return waited;
  });
}

// ---- GRU (PyTorch's: the reset gate applied after the hidden matmul) ----------------------

// one row of one thread's units: xl, hl (3 nk: blocks r z n) its slices of x W_ih^T and
// h W_hh^T; gh gets hl + b_hh (the backward reads its n block), act the activations r, z, n
template <typename T, bool kBias>
void gru_units(T* TS_R act, T* TS_R gh, const T* TS_R xl, const T* TS_R hl, const T* TS_R b_ih,
               const T* TS_R b_hh, const T* TS_R h_prev, T* TS_R h, int hidden, int j0, int nk) {
  TS_EACH(u, nk) {
    const int j = j0 + u;
    T r = xl[u], z = xl[nk + u], n = xl[2 * nk + u];
    T ghr = hl[u], ghz = hl[nk + u], ghn = hl[2 * nk + u], h1;
    if (kBias) {
      r += b_ih[j];
      z += b_ih[hidden + j];
      n += b_ih[2 * hidden + j];
      ghr += b_hh[j];
      ghz += b_hh[hidden + j];
      ghn += b_hh[2 * hidden + j];
    }
    ts::gru_forward(r, z, n, ghr, ghz, ghn, h_prev[j], h1);
    gh[j] = ghr;
    gh[hidden + j] = ghz;
    gh[2 * hidden + j] = ghn;
    act[j] = r;
    act[hidden + j] = z;
    act[2 * hidden + j] = n;
    h[j] = h1;
  }
}

// dh in: the gradient of the new state (plus d_out); out: the part that skips W_hh (dh z),
// to which the step's GEMM adds d_gh W_hh
template <typename T, bool kOut>
void gru_units_backward(const T* TS_R act, const T* TS_R gh, const T* TS_R h_prev,
                        const T* TS_R d_out, T* TS_R dh, T* TS_R d_gi, T* TS_R d_gh, int hidden,
                        int j0, int nk) {
  TS_EACH(u, nk) {
    const int j = j0 + u;
    T d_r, d_z, d_n, d_ghn, d_h1;
    ts::gru_backward(act[j], act[hidden + j], act[2 * hidden + j], gh[2 * hidden + j],
                     h_prev[j], kOut ? dh[j] + d_out[j] : dh[j], d_r, d_z, d_n, d_ghn, d_h1);
    d_gi[j] = d_r;
    d_gi[hidden + j] = d_z;
    d_gi[2 * hidden + j] = d_n;
    d_gh[j] = d_r;
    d_gh[hidden + j] = d_z;
    d_gh[2 * hidden + j] = d_ghn;
    dh[j] = d_h1;
  }
}

// x (T, B, I); b_ih, b_hh (3H) both or neither; act (T, B, 3H) written: r, z, n; gh (T, B, 3H)
// written: h W_hh^T + b_hh, which the backward reads (its n block)
template <typename T>
void gru_forward(const Blas& blas, int threads, const T* x, const T* w_ih, const T* b_ih,
                 const T* w_hh, const T* b_hh, T* act, T* gh, T* hs, int steps, int batch,
                 int inputs, int hidden, int reverse, int64_t* stats) {
  const int64_t bh = int64_t(batch) * hidden, g3 = 3 * int64_t(hidden);
  threads = useful_threads(threads, batch, 3 * hidden, hidden, hidden + inputs);
  on_unit_slices(threads, hidden, stats, [&](int j0, int nk, ts_pool::Barrier& barrier) {
    const Products<T> mm(blas, w_ih, w_hh, 3, inputs, hidden, j0, nk);
    std::vector<T> xl(static_cast<size_t>(batch) * 3 * nk), hl(xl.size());
    int64_t waited = 0;
    for (int s = 0; s < steps; ++s) {
      const Step at(s, steps, true, reverse);
      mm.in.run(batch, x + at.t * batch * inputs, inputs, xl.data(), 3 * nk, false);
      mm.rec.run(batch, hs + at.before * bh, hidden, hl.data(), 3 * nk, false);
      for (int bi = 0; bi < batch; ++bi) {
        const int64_t row = (at.t * batch + bi) * g3;
        const T *xr = xl.data() + bi * 3 * nk, *hr = hl.data() + bi * 3 * nk;
        const T* h_prev = hs + at.before * bh + bi * hidden;
        T* h = hs + at.after * bh + bi * hidden;
        if (b_ih)
          gru_units<T, true>(act + row, gh + row, xr, hr, b_ih, b_hh, h_prev, h, hidden, j0, nk);
        else
          gru_units<T, false>(act + row, gh + row, xr, hr, b_ih, b_hh, h_prev, h, hidden, j0,
                              nk);
      }
      waited += barrier.wait();
    }
    return waited;
  });
}

// act (T, B, 3H) the activations r, z, n; d_gi, d_gh (T, B, 3H) written; dh as the LSTM's
template <typename T>
void gru_backward(const Blas& blas, int threads, const T* act, const T* gh, const T* w_hh,
                  const T* hs, const T* d_out, T* dh, T* d_gi, T* d_gh, int steps, int batch,
                  int hidden, int reverse, int64_t* stats) {
  const int64_t bh = int64_t(batch) * hidden, g3 = 3 * int64_t(hidden);
  threads = useful_threads(threads, batch, 3 * hidden, hidden, hidden);
  on_unit_slices(threads, hidden, stats, [&](int j0, int nk, ts_pool::Barrier& barrier) {
    const StepGemm<T> back(blas, w_hh + j0, hidden, false, 3 * hidden, nk);
    int64_t waited = 0;
    for (int s = 0; s < steps; ++s) {
      const Step at(s, steps, false, reverse);
      for (int b = 0; b < batch; ++b) {
        const int64_t row = (at.t * batch + b) * g3;
        const T* h_prev = hs + at.before * bh + b * hidden;
        if (d_out)
          gru_units_backward<T, true>(act + row, gh + row, h_prev, d_out + at.t * bh + b * hidden,
                                      dh + b * hidden, d_gi + row, d_gh + row, hidden, j0, nk);
        else
          gru_units_backward<T, false>(act + row, gh + row, h_prev, nullptr, dh + b * hidden,
                                       d_gi + row, d_gh + row, hidden, j0, nk);
      }
      waited += barrier.wait();
      back.run(batch, d_gh + at.t * batch * g3, 3 * hidden, dh + j0, hidden, true);
    }
    return waited;
  });
}

// ---- Elman RNN ------------------------------------------------------------------------------

// loc: this thread's slice of x W_ih^T + h W_hh^T for one row; b the summed biases or null
template <typename T, bool kRelu>
void rnn_units(const T* TS_R loc, const T* TS_R b, T* TS_R h, int nk) {
  if (b) {
    TS_EACH(u, nk) h[u] = ts::rnn_forward(loc[u] + b[u], kRelu);
  } else {
    TS_EACH(u, nk) h[u] = ts::rnn_forward(loc[u], kRelu);
  }
}

// d_out: the output's gradient, or null (then only the carried state's, dh)
template <typename T, bool kRelu>
void rnn_units_backward(const T* TS_R h, const T* TS_R d_out, const T* TS_R dh, T* TS_R d_pre,
                        int nk) {
  if (d_out) {
    TS_EACH(u, nk) d_pre[u] = ts::rnn_backward(h[u], dh[u] + d_out[u], kRelu);
  } else {
    TS_EACH(u, nk) d_pre[u] = ts::rnn_backward(h[u], dh[u], kRelu);
  }
}

// x (T, B, I), b (H) the summed biases or null; hs as the layout comment says
template <typename T>
void rnn_forward(const Blas& blas, int threads, const T* x, const T* w_ih, const T* b,
                 const T* w_hh, T* hs, int steps, int batch, int inputs, int hidden, int reverse,
                 int relu, int64_t* stats) {
  const int64_t bh = int64_t(batch) * hidden;
  threads = useful_threads(threads, batch, hidden, hidden, hidden + inputs);
  on_unit_slices(threads, hidden, stats, [&](int j0, int nk, ts_pool::Barrier& barrier) {
    const Products<T> mm(blas, w_ih, w_hh, 1, inputs, hidden, j0, nk);
    std::vector<T> loc(static_cast<size_t>(batch) * nk);
    const T* bias = b ? b + j0 : nullptr;
    int64_t waited = 0;
    for (int s = 0; s < steps; ++s) {
      const Step at(s, steps, true, reverse);
      mm.in.run(batch, x + at.t * batch * inputs, inputs, loc.data(), nk, false);
      mm.rec.run(batch, hs + at.before * bh, hidden, loc.data(), nk, true);
      for (int bi = 0; bi < batch; ++bi) {
        T* h = hs + at.after * bh + bi * hidden + j0;
        if (relu)
          rnn_units<T, true>(loc.data() + bi * nk, bias, h, nk);
        else
          rnn_units<T, false>(loc.data() + bi * nk, bias, h, nk);
      }
      waited += barrier.wait();
    }
    return waited;
  });
}

template <typename T>
void rnn_backward(const Blas& blas, int threads, const T* hs, const T* w_hh, const T* d_out,
                  T* dh, T* d_pre, int steps, int batch, int hidden, int reverse, int relu,
                  int64_t* stats) {
  const int64_t bh = int64_t(batch) * hidden;
  threads = useful_threads(threads, batch, hidden, hidden, hidden);
  on_unit_slices(threads, hidden, stats, [&](int j0, int nk, ts_pool::Barrier& barrier) {
    const StepGemm<T> back(blas, w_hh + j0, hidden, false, hidden, nk);
    int64_t waited = 0;
    for (int s = 0; s < steps; ++s) {
      const Step at(s, steps, false, reverse);
      for (int b = 0; b < batch; ++b) {
        const int64_t at_b = at.t * bh + b * hidden + j0;
        const T* out = d_out ? d_out + at_b : nullptr;
        const T* h = hs + at.after * bh + b * hidden + j0;
        if (relu)
          rnn_units_backward<T, true>(h, out, dh + b * hidden + j0, d_pre + at_b, nk);
        else
          rnn_units_backward<T, false>(h, out, dh + b * hidden + j0, d_pre + at_b, nk);
      }
      waited += barrier.wait();
      back.run(batch, d_pre + at.t * bh, hidden, dh + j0, hidden, false);
    }
    return waited;
  });
}

}  // namespace ts_loops

#define TS_LOOP_ARGS void *gemm, int wide, int threads
#define EXPORT_LOOPS(T, S)                                                                     \
  extern "C" void lstm_loop_forward_##S(TS_LOOP_ARGS, const T* x, const T* w_ih, const T* b,    \
                                        const T* w_hh, T* act, T* hs, T* cs, T* tc, int steps,  \
                                        int batch, int inputs, int hidden, int reverse,         \
                                        int64_t* stats) {                                      \
    ts_loops::lstm_forward<T>({gemm, wide}, threads, x, w_ih, b, w_hh, act, hs, cs, tc, steps,  \
                              batch, inputs, hidden, reverse, stats);                          \
  }                                                                                            \
  extern "C" void lstm_loop_backward_##S(TS_LOOP_ARGS, const T* act, const T* w_hh,             \
                                         const T* cs, const T* tc, const T* d_out, T* dh,       \
                                         T* dc, T* d_pre, int steps, int batch, int hidden,     \
                                         int reverse, int64_t* stats) {                         \
    ts_loops::lstm_backward<T>({gemm, wide}, threads, act, w_hh, cs, tc, d_out, dh, dc, d_pre,  \
                               steps, batch, hidden, reverse, stats);                          \
  }                                                                                            \
  extern "C" void gru_loop_forward_##S(TS_LOOP_ARGS, const T* x, const T* w_ih, const T* b_ih,  \
                                       const T* w_hh, const T* b_hh, T* act, T* gh, T* hs,      \
                                       int steps, int batch, int inputs, int hidden,            \
                                       int reverse, int64_t* stats) {                           \
    ts_loops::gru_forward<T>({gemm, wide}, threads, x, w_ih, b_ih, w_hh, b_hh, act, gh, hs,     \
                             steps, batch, inputs, hidden, reverse, stats);                    \
  }                                                                                            \
  extern "C" void gru_loop_backward_##S(TS_LOOP_ARGS, const T* act, const T* gh,                \
                                        const T* w_hh, const T* hs, const T* d_out, T* dh,      \
                                        T* d_gi, T* d_gh, int steps, int batch, int hidden,     \
                                        int reverse, int64_t* stats) {                          \
    ts_loops::gru_backward<T>({gemm, wide}, threads, act, gh, w_hh, hs, d_out, dh, d_gi, d_gh,  \
                              steps, batch, hidden, reverse, stats);                           \
  }                                                                                            \
  extern "C" void rnn_loop_forward_##S(TS_LOOP_ARGS, const T* x, const T* w_ih, const T* b,     \
                                       const T* w_hh, T* hs, int steps, int batch, int inputs,  \
                                       int hidden, int reverse, int relu, int64_t* stats) {     \
    ts_loops::rnn_forward<T>({gemm, wide}, threads, x, w_ih, b, w_hh, hs, steps, batch, inputs, \
                             hidden, reverse, relu, stats);                                    \
  }                                                                                            \
  extern "C" void rnn_loop_backward_##S(TS_LOOP_ARGS, const T* hs, const T* w_hh,               \
                                        const T* d_out, T* dh, T* d_pre, int steps, int batch,  \
                                        int hidden, int reverse, int relu, int64_t* stats) {    \
    ts_loops::rnn_backward<T>({gemm, wide}, threads, hs, w_hh, d_out, dh, d_pre, steps, batch,  \
                              hidden, reverse, relu, stats);                                   \
  }

EXPORT_LOOPS(float, f32)
EXPORT_LOOPS(double, f64)
