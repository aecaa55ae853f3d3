// The time loops' per-step product, C (m x n) = A (m x k) B (+ C), where B (a thread's slice of
// W_hh) is the same at every step and A (the batch's states or gradients) is small: with AVX2
// and FMA, B is packed once per loop into panels of 16 (float) or 8 (double) columns and a
// register-blocked kernel of 6 rows by one panel runs each step, so no step repacks B, as a
// BLAS call does; without them, each step is one BLAS call (gemm.h).
#pragma once

#include <cstdint>
#include <vector>

#include "gemm.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define TS_STEP_KERNEL 1
#endif
// the accumulators stay in registers only when the loops over a tile's rows are unrolled
#if defined(__clang__)
#define TS_UNROLL _Pragma("clang loop unroll(full)")
#else
#define TS_UNROLL _Pragma("GCC unroll 8")
#endif

namespace ts_step {

#ifdef TS_STEP_KERNEL
template <typename T>
struct Simd;

template <>
struct Simd<float> {
  using V = __m256;
  static constexpr int kLanes = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
};

template <>
struct Simd<double> {
  using V = __m256d;
  static constexpr int kLanes = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  static V broadcast(const double* p) { return _mm256_broadcast_sd(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
};

// rows [0, MR) of C over one panel: 2 MR vector accumulators, in registers for MR <= 6
template <typename T, int MR>
void tile(const T* A, int64_t lda, const T* panel, int k, T* C, int64_t ldc, int cols,
          bool accumulate) {
  using S = Simd<T>;
  constexpr int L = S::kLanes;
  typename S::V lo[MR], hi[MR];
  TS_UNROLL for (int r = 0; r < MR; ++r) lo[r] = hi[r] = S::zero();
  for (int kk = 0; kk < k; ++kk) {
    const typename S::V b0 = S::load(panel + kk * 2 * L), b1 = S::load(panel + kk * 2 * L + L);
    TS_UNROLL for (int r = 0; r < MR; ++r) {
      const typename S::V a = S::broadcast(A + r * lda + kk);
      lo[r] = S::fma(a, b0, lo[r]);
      hi[r] = S::fma(a, b1, hi[r]);
    }
  }
  TS_UNROLL for (int r = 0; r < MR; ++r) {
    T* c = C + r * ldc;
    if (cols == 2 * L) {
      if (accumulate) {
        lo[r] = S::add(lo[r], S::load(c));
        hi[r] = S::add(hi[r], S::load(c + L));
      }
      S::store(c, lo[r]);
      S::store(c + L, hi[r]);
    } else {  // the last panel, partly padding
      T part[2 * L];
      S::store(part, lo[r]);
      S::store(part + L, hi[r]);
      for (int j = 0; j < cols; ++j) c[j] = accumulate ? c[j] + part[j] : part[j];
    }
  }
}
#endif

// B (k x n) given as a row-major matrix (ptr, ld) or, with trans, as the transpose of one
template <typename T>
class StepGemm {
 public:
  StepGemm(const ts_gemm::Blas& blas, const T* b, int64_t ld, bool trans, int k, int n)
      : blas_(blas), b_(b), ld_(ld), trans_(trans), k_(k), n_(n) {
#ifdef TS_STEP_KERNEL
    constexpr int NR = 2 * Simd<T>::kLanes;
    const int panels = (n + NR - 1) / NR;
    packed_.assign(static_cast<size_t>(panels) * k * NR, T(0));
    for (int p = 0; p < panels; ++p)
      for (int kk = 0; kk < k; ++kk)
        for (int c = 0; c < NR && p * NR + c < n; ++c) {
          const int64_t col = p * NR + c;
          packed_[(static_cast<size_t>(p) * k + kk) * NR + c] =
              trans ? b[col * ld + kk] : b[kk * ld + col];
        }
#endif
  }

  // C (m x n, ldc) = A (m x k, lda) B, plus C when accumulate
  void run(int m, const T* A, int64_t lda, T* C, int64_t ldc, bool accumulate) const {
#ifdef TS_STEP_KERNEL
    constexpr int NR = 2 * Simd<T>::kLanes;
    for (int p = 0; p * NR < n_; ++p) {
      const T* panel = packed_.data() + static_cast<size_t>(p) * k_ * NR;
      const int cols = n_ - p * NR < NR ? n_ - p * NR : NR;
      int r = 0;
      for (; r + 6 <= m; r += 6)
        tile<T, 6>(A + r * lda, lda, panel, k_, C + r * ldc + p * NR, ldc, cols, accumulate);
      const T* a = A + r * lda;
      T* c = C + r * ldc + p * NR;
      switch (m - r) {
        case 5: tile<T, 5>(a, lda, panel, k_, c, ldc, cols, accumulate); break;
        case 4: tile<T, 4>(a, lda, panel, k_, c, ldc, cols, accumulate); break;
        case 3: tile<T, 3>(a, lda, panel, k_, c, ldc, cols, accumulate); break;
        case 2: tile<T, 2>(a, lda, panel, k_, c, ldc, cols, accumulate); break;
        case 1: tile<T, 1>(a, lda, panel, k_, c, ldc, cols, accumulate); break;
        default: break;
      }
    }
#else
    ts_gemm::gemm<T>(blas_, false, trans_, m, n_, k_, A, lda, b_, ld_, accumulate ? T(1) : T(0),
                     C, ldc);
#endif
  }

 private:
  ts_gemm::Blas blas_;
  const T* b_;
  int64_t ld_;
  bool trans_;
  int k_, n_;
  std::vector<T> packed_;
};

}  // namespace ts_step
