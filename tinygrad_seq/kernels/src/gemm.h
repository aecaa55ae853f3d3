// Matrix products through the BLAS that NumPy itself uses (a CBLAS function pointer handed
// over from Python, kernels/blas.py), each call on one thread: the products that are worth it
// are split across the pool (pool.h) by blocks of columns or rows, or by batch entries, so the
// engine's threads, not the BLAS's, decide where the work runs (kernels/loops.py sets the
// BLAS to one thread).
#pragma once

#include <cstdint>

#include "pool.h"

namespace ts_gemm {

// CBLAS's row-major GEMM; `wide` says whether the BLAS takes 64-bit integers (ILP64, as the
// OpenBLAS NumPy wheels bundle) or 32-bit ones.
enum { kRowMajor = 101, kNoTrans = 111, kTrans = 112 };
template <typename T, typename I>
using gemm_f = void (*)(int, int, int, I, I, I, T, const T*, I, const T*, I, T, T*, I);

struct Blas {
  void* gemm;  // sgemm or dgemm, matching T
  int wide;
};

// C (m x n, ldc) = op(A) op(B) + beta C; op(A) is A (m x k, lda) or, with ta, A^T (A stored
// k x m); op(B) is B (k x n, ldb) or, with tb, B^T (B stored n x k)
template <typename T>
void gemm(const Blas& b, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  const int a = ta ? kTrans : kNoTrans, t = tb ? kTrans : kNoTrans;
  if (b.wide)
    reinterpret_cast<gemm_f<T, int64_t>>(b.gemm)(kRowMajor, a, t, m, n, k, T(1), A, lda, B, ldb,
                                                 beta, C, ldc);
  else
    reinterpret_cast<gemm_f<T, int>>(b.gemm)(kRowMajor, a, t, int(m), int(n), int(k), T(1), A,
                                             int(lda), B, int(ldb), beta, C, int(ldc));
}

// below this many flops (~50 us on one core) a hand-off to another thread does not pay
constexpr double kParallelFlops = 4e6;

// One GEMM split across `threads` threads of the pool: by blocks of C's columns, or of its
// rows when C is tall and narrow; block edges on multiples of 16 elements (whole vectors).
template <typename T>
void gemm_parallel(const Blas& b, int threads, bool ta, bool tb, int64_t m, int64_t n,
                   int64_t k, const T* A, int64_t lda, const T* B, int64_t ldb, T beta, T* C,
                   int64_t ldc) {
  if (2.0 * m * n * k < kParallelFlops) threads = 1;
  const bool by_columns = n >= 64 * threads || n >= m;
  const int64_t extent = by_columns ? n : m;
  if (threads > extent / 16) threads = static_cast<int>(extent / 16 < 1 ? 1 : extent / 16);
  ts_pool::Pool::get().run(threads, [&](int p) {
    const int64_t lo = ts_pool::part_begin(extent, threads, p) & ~int64_t(15);
    const int64_t hi = p == threads - 1 ? extent
                                        : ts_pool::part_begin(extent, threads, p + 1) &
                                              ~int64_t(15);
    if (hi <= lo) return;
    if (by_columns)
      gemm<T>(b, ta, tb, m, hi - lo, k, A, lda, tb ? B + lo * ldb : B + lo, ldb, beta, C + lo,
              ldc);
    else
      gemm<T>(b, ta, tb, hi - lo, n, k, ta ? A + lo : A + lo * lda, lda, B, ldb, beta,
              C + lo * ldc, ldc);
  });
}

// Batched GEMMs over a grid of outer x inner entries (the batch axes of a batched matmul,
// collapsed to at most two); entry (o, i) of X starts at X + o so_x + i si_x (0 for an operand
// shared by all). Entries are shared out across the pool, each one whole; a few large entries
// are split by gemm_parallel instead.
struct Grid {
  int64_t outer, inner;
  int64_t at(int64_t e, int64_t so, int64_t si) const { return (e / inner) * so + (e % inner) * si; }
};

template <typename T>
void gemm_batched(const Blas& b, int threads, bool ta, bool tb, Grid grid, int64_t m, int64_t n,
                  int64_t k, const T* A, int64_t lda, int64_t sao, int64_t sai, const T* B,
                  int64_t ldb, int64_t sbo, int64_t sbi, T* C, int64_t ldc, int64_t sco,
                  int64_t sci) {
  const int64_t count = grid.outer * grid.inner;
  if (count < threads) {
    for (int64_t e = 0; e < count; ++e)
      gemm_parallel<T>(b, threads, ta, tb, m, n, k, A + grid.at(e, sao, sai), lda,
                       B + grid.at(e, sbo, sbi), ldb, T(0), C + grid.at(e, sco, sci), ldc);
    return;
  }
  if (2.0 * m * n * k * count < kParallelFlops) threads = 1;
  ts_pool::Pool::get().run(threads, [&](int p) {
    const int64_t end = ts_pool::part_begin(count, threads, p + 1);
    for (int64_t e = ts_pool::part_begin(count, threads, p); e < end; ++e)
      gemm<T>(b, ta, tb, m, n, k, A + grid.at(e, sao, sai), lda, B + grid.at(e, sbo, sbi), ldb,
              T(0), C + grid.at(e, sco, sci), ldc);
  });
}

}  // namespace ts_gemm

#define EXPORT_GEMM(T, S)                                                                      \
  extern "C" void gemm_parallel_##S(void* gemm, int wide, int threads, int ta, int tb,          \
                                    int64_t m, int64_t n, int64_t k, const T* A, int64_t lda,   \
                                    const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {       \
    ts_gemm::gemm_parallel<T>({gemm, wide}, threads, ta, tb, m, n, k, A, lda, B, ldb, beta, C,  \
                              ldc);                                                            \
  }                                                                                            \
  extern "C" void gemm_batched_##S(void* gemm, int wide, int threads, int ta, int tb,           \
                                   int64_t outer, int64_t inner, int64_t m, int64_t n,          \
                                   int64_t k, const T* A, int64_t lda, int64_t sao,             \
                                   int64_t sai, const T* B, int64_t ldb, int64_t sbo,           \
                                   int64_t sbi, T* C, int64_t ldc, int64_t sco, int64_t sci) {  \
    ts_gemm::gemm_batched<T>({gemm, wide}, threads, ta, tb, {outer, inner}, m, n, k, A, lda,    \
                             sao, sai, B, ldb, sbo, sbi, C, ldc, sco, sci);                    \
  }

EXPORT_GEMM(float, f32)
EXPORT_GEMM(double, f64)
