// The element loops of the fused instance norm + PReLU, free of PyTorch: plain C++20 over
// raw arrays, so that tests can compile them alone for several targets and check that
// every loop under `#pragma omp simd` vectorises (tests/modules/test_fused_vectorize.py).
//
// Every element loop is branch-free. GCC keeps a loop scalar when it would have to
// speculate a floating-point operation that may trap (`y > 0 ? y : slope * y` computes
// `slope * y` on one side only): AVX-512's masked lanes allow it, AVX2, SSE and NEON do
// not. So the PReLU is `max(y, 0) + slope * min(y, 0)` (min and max are selects of values
// already computed), and the backward's `y > 0 ? a : b` is a select on the sign of the
// integer bits of y (an integer comparison, no floating-point one).
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <type_traits>

namespace mdnc_kernels {

constexpr int64_t kBlock = 256;  // elements summed in the input's precision before double
constexpr int64_t kLanes = 16;   // channels of a channels-last chunk

template <typename T>
using UBits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
template <typename T>
using SBits = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;

// `y > 0 ? a : b` for every y but NaN: all-ones where the bits of y, read as a signed
// integer, are > 0 (~u has the sign bit where u has none, -u where u is non-zero).
template <typename T>
inline T select_positive(T y, T a, T b) {
  const UBits<T> u = std::bit_cast<UBits<T>>(y);
  constexpr int kShift = 8 * sizeof(T) - 1;
  const UBits<T> m = static_cast<UBits<T>>(static_cast<SBits<T>>(~u & (UBits<T>(0) - u)) >> kShift);
  return std::bit_cast<T>((std::bit_cast<UBits<T>>(a) & m) | (std::bit_cast<UBits<T>>(b) & ~m));
}

// PReLU: y where y > 0, else slope * y (exactly; only the sign of a zero may differ).
template <typename T>
inline T prelu(T y, T slope) {
  return std::max(y, T(0)) + slope * std::min(y, T(0));
}

struct RowStats {
  double mean;
  double rstd;
};

// Mean and 1/sqrt(biased variance + eps) of a row, from sums shifted by its first element
// and accumulated in double: exact enough even when |mean| >> std.
template <typename T>
RowStats row_stats(const T* __restrict__ xr, int64_t n, double eps) {
  const double pivot = static_cast<double>(xr[0]);
  double s = 0.0;
  double ss = 0.0;
#pragma omp simd reduction(+ : s, ss)
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(xr[i]) - pivot;
    s += d;
    ss += d * d;
  }
  const double shift = s / static_cast<double>(n);
  double var = ss / static_cast<double>(n) - shift * shift;
  var = var < 0.0 ? 0.0 : var;
  return {pivot + shift, 1.0 / std::sqrt(var + eps)};
}

// z = prelu(x * scale + bias) over one row.
template <typename T>
void apply_row(const T* __restrict__ xr, T* __restrict__ zr, int64_t n, T scale, T bias,
               T slope) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    zr[i] = prelu(xr[i] * scale + bias, slope);
  }
}

// The backward's row sums: s1 = sum(gy), s2 = sum(gy * (x - mean)), s3 = sum over y <= 0
// of y * gz, with gy = gz * prelu'(y); summed in T within blocks of kBlock, then in double.
struct RowSums {
  double s1;
  double s2;
  double s3;
};

template <typename T>
RowSums backward_row_sums(const T* __restrict__ xr, const T* __restrict__ gr, int64_t n,
                          T scale, T bias, T slope, T mean) {
  RowSums out{0.0, 0.0, 0.0};
  for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
    const int64_t i1 = std::min(n, i0 + kBlock);
    T b1 = T(0);
    T b2 = T(0);
    T b3 = T(0);
#pragma omp simd reduction(+ : b1, b2, b3)
    for (int64_t i = i0; i < i1; ++i) {
      const T xv = xr[i];
      const T y = xv * scale + bias;
      const T gi = gr[i];
      const T gy = gi * select_positive(y, T(1), slope);
      b1 += gy;
      b2 += gy * (xv - mean);
      b3 += std::min(y, T(0)) * gi;
    }
    out.s1 += static_cast<double>(b1);
    out.s2 += static_cast<double>(b2);
    out.s3 += static_cast<double>(b3);
  }
  return out;
}

// grad_x = k * gy + c2 * (x - mean) + c1 over one row (k = gamma * rstd; see the caller).
template <typename T>
void backward_row_grad(const T* __restrict__ xr, const T* __restrict__ gr, T* __restrict__ gxr,
                       int64_t n, T scale, T bias, T slope, T mean, T k, T c1, T c2) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const T xv = xr[i];
    const T y = xv * scale + bias;
    const T gy = gr[i] * select_positive(y, T(1), slope);
    gxr[i] = k * gy + c2 * (xv - mean) + c1;
  }
}

// Channels-last (NWC) statistics of W channels (width of them real) of one batch item: the
// rows of `channels` elements are read down in registers, shifted by the first row, in T
// within blocks of kBlock rows, then added in double.
template <typename T, int64_t W>
void nwc_chunk_sums(const T* __restrict__ xb, int64_t n, int64_t channels,
                    double* __restrict__ s, double* __restrict__ ss, int64_t width) {
  T p[W];
  for (int64_t c = 0; c < W; ++c) {
    p[c] = c < width ? xb[c] : T(0);
  }
  for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
    const int64_t i1 = std::min(n, i0 + kBlock);
    T bs[W] = {};
    T bss[W] = {};
    for (int64_t i = i0; i < i1; ++i) {
      const T* __restrict__ row = xb + i * channels;
      if constexpr (W % kLanes == 0) {
#pragma omp simd
        for (int64_t c = 0; c < W; ++c) {
          const T d = row[c] - p[c];
          bs[c] += d;
          bss[c] += d * d;
        }
      } else {
        for (int64_t c = 0; c < width; ++c) {
          const T d = row[c] - p[c];
          bs[c] += d;
          bss[c] += d * d;
        }
      }
    }
    for (int64_t c = 0; c < width; ++c) {
      s[c] += static_cast<double>(bs[c]);
      ss[c] += static_cast<double>(bss[c]);
    }
  }
}

// z = prelu(x * scale + bias) over W channels (width of them real) of every row.
template <typename T, int64_t W>
void nwc_chunk_apply(const T* __restrict__ xb, T* __restrict__ zb, int64_t n, int64_t channels,
                     const T* scale, const T* bias, const T* slope, int64_t width) {
  T sc[W];
  T bi[W];
  T sl[W];
  for (int64_t c = 0; c < W; ++c) {
    sc[c] = c < width ? scale[c] : T(0);
    bi[c] = c < width ? bias[c] : T(0);
    sl[c] = c < width ? slope[c] : T(0);
  }
  for (int64_t i = 0; i < n; ++i) {
    const T* __restrict__ row = xb + i * channels;
    T* __restrict__ out = zb + i * channels;
    if constexpr (W % kLanes == 0) {
#pragma omp simd
      for (int64_t c = 0; c < W; ++c) {
        out[c] = prelu(row[c] * sc[c] + bi[c], sl[c]);
      }
    } else {
      for (int64_t c = 0; c < width; ++c) {
        out[c] = prelu(row[c] * sc[c] + bi[c], sl[c]);
      }
    }
  }
}

// One channels-last task: the statistics of W channels (width of them real) of one batch
// item, then their normalisation while those rows are still in cache.
template <typename T, int64_t W>
void nwc_chunk(const T* __restrict__ xb, T* __restrict__ zb, int64_t n, int64_t channels,
               int64_t width, const T* gamma, const T* beta, const T* slope, double eps,
               T* mean_out, T* rstd_out) {
  double s[W] = {};
  double ss[W] = {};
  nwc_chunk_sums<T, W>(xb, n, channels, s, ss, width);
  T scale[W];
  T bias[W];
  for (int64_t c = 0; c < width; ++c) {
    const double shift = s[c] / static_cast<double>(n);
    double var = ss[c] / static_cast<double>(n) - shift * shift;
    var = var < 0.0 ? 0.0 : var;
    const T mean = static_cast<T>(static_cast<double>(xb[c]) + shift);
    const T rstd = static_cast<T>(1.0 / std::sqrt(var + eps));
    mean_out[c] = mean;
    rstd_out[c] = rstd;
    scale[c] = rstd * gamma[c];
    bias[c] = beta[c] - mean * scale[c];
  }
  nwc_chunk_apply<T, W>(xb, zb, n, channels, scale, bias, slope, width);
}

}  // namespace mdnc_kernels
