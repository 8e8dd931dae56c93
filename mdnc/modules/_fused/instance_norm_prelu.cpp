// Fused instance norm (affine) + PReLU for contiguous CPU tensors of shape (B, C, *spatial).
//
// Each (b, c) pair is a row of N = prod(spatial) elements. The forward computes the row's
// mean and rstd (biased variance, eps as torch) in one pass, then writes
//     z = prelu_a(y),  y = x * s + t,  s = gamma * rstd,  t = beta - mean * s
// (the same folding as torch's batch-norm kernel). Only x, mean and rstd are kept for the
// backward, which recomputes y per element: one pass for the row sums, one pass writing
// grad_x. Parameter gradients are reduced from per-row partials in a fixed order, so they
// do not depend on the number of threads.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/empty_strided.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <tuple>
#include <vector>

namespace {

using at::Tensor;

constexpr int64_t kBlock = 256;  // elements summed in the input's precision before double

struct Geometry {
  int64_t rows;      // B * C
  int64_t channels;  // C
  int64_t length;    // prod(spatial)
};

Geometry check_inputs(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& a) {
  TORCH_CHECK(x.device().is_cpu(), "mdnc fused: x must be a CPU tensor");
  TORCH_CHECK(x.dim() >= 3, "mdnc fused: x must have shape (B, C, *spatial)");
  const int64_t channels = x.size(1);
  TORCH_CHECK(gamma.numel() == channels && beta.numel() == channels,
              "mdnc fused: gamma and beta must have C elements");
  TORCH_CHECK(a.numel() == 1 || a.numel() == channels,
              "mdnc fused: the PReLU weight must have 1 or C elements");
  TORCH_CHECK(gamma.scalar_type() == x.scalar_type() && beta.scalar_type() == x.scalar_type() &&
                  a.scalar_type() == x.scalar_type(),
              "mdnc fused: parameters must have the dtype of x");
  const int64_t rows = x.size(0) * channels;
  const int64_t length = rows == 0 ? 0 : x.numel() / rows;
  TORCH_CHECK(length > 0, "mdnc fused: empty rows");
  return {rows, channels, length};
}

template <typename T>
void forward_kernel(const T* x, T* z, T* mean_out, T* rstd_out, const T* gamma, const T* beta,
                    const T* a, bool a_per_channel, double eps, Geometry g) {
  const int64_t n = g.length;
  at::parallel_for(0, g.rows, 1, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t c = r % g.channels;
      const T* __restrict__ xr = x + r * n;
      T* __restrict__ zr = z + r * n;
      // Shifted sums in double: exact enough even when |mean| >> std.
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
      const T mean = static_cast<T>(pivot + shift);
      const T rstd = static_cast<T>(1.0 / std::sqrt(var + eps));
      mean_out[r] = mean;
      rstd_out[r] = rstd;
      const T scale = rstd * gamma[c];
      const T bias = beta[c] - mean * scale;
      const T slope = a[a_per_channel ? c : 0];
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) {
        const T y = xr[i] * scale + bias;
        zr[i] = y > T(0) ? y : slope * y;
      }
    }
  });
}

// The same forward for a (B, C, L) tensor laid out channels-last (NWC: x[b, l, c] at
// b * L * C + l * C + c), as the channels-last inference path keeps its activations. Each
// batch item is a block of L rows of C channels, read in chunks of kLanes channels: the
// statistics of a chunk run down the rows in registers (shifted sums in T over kBlock
// rows, then in double), then each row is normalised in one pass over all channels.
constexpr int64_t kLanes = 16;

template <typename T, int64_t W>
void nwc_chunk_sums(const T* __restrict__ xb, int64_t n, int64_t channels, const T* pivot,
                    double* __restrict__ s, double* __restrict__ ss, int64_t width) {
  T p[W];
  for (int64_t c = 0; c < W; ++c) {
    p[c] = c < width ? pivot[c] : T(0);
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
        const T y = row[c] * sc[c] + bi[c];
        out[c] = y > T(0) ? y : sl[c] * y;
      }
    } else {
      for (int64_t c = 0; c < width; ++c) {
        const T y = row[c] * sc[c] + bi[c];
        out[c] = y > T(0) ? y : sl[c] * y;
      }
    }
  }
}

// One task: the statistics of W channels (width of them real) of one batch item, then their
// normalisation, while those rows are still in cache.
template <typename T, int64_t W>
void nwc_chunk(const T* __restrict__ xb, T* __restrict__ zb, int64_t n, int64_t channels,
               int64_t width, const T* gamma, const T* beta, const T* slope, double eps,
               T* mean_out, T* rstd_out) {
  double s[W] = {};
  double ss[W] = {};
  nwc_chunk_sums<T, W>(xb, n, channels, xb, s, ss, width);
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

// Tasks of Lanes channels of one batch item. A task reads a strip of Lanes * sizeof(T) bytes
// of every row; with 32-lane strips (128 bytes) where the channel count allows, the cache
// line pairs that the hardware prefetches together belong to one task (2x faster than
// 16-lane strips on 8 MiB tensors of 32-128 channels, the same on smaller ones).
template <typename T, int64_t Lanes>
void forward_kernel_nwc(const T* x, T* z, T* mean_out, T* rstd_out, const T* gamma,
                        const T* beta, const T* a, bool a_per_channel, double eps, Geometry g) {
  const int64_t n = g.length;
  const int64_t channels = g.channels;
  const int64_t chunks = (channels + Lanes - 1) / Lanes;
  const int64_t tasks = g.rows / channels * chunks;
  std::vector<T> slope(channels);
  for (int64_t c = 0; c < channels; ++c) {
    slope[c] = a[a_per_channel ? c : 0];
  }
  at::parallel_for(0, tasks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / chunks;
      const int64_t c0 = task % chunks * Lanes;
      const int64_t width = std::min(Lanes, channels - c0);
      const int64_t offset = b * n * channels + c0;
      const int64_t row = b * channels + c0;
      if (width == Lanes) {
        nwc_chunk<T, Lanes>(x + offset, z + offset, n, channels, width, gamma + c0, beta + c0,
                            slope.data() + c0, eps, mean_out + row, rstd_out + row);
      } else {
        nwc_chunk<T, kLanes - 1>(x + offset, z + offset, n, channels, width, gamma + c0,
                                 beta + c0, slope.data() + c0, eps, mean_out + row,
                                 rstd_out + row);
      }
    }
  });
}

template <typename T>
void forward_kernel_nwc(const T* x, T* z, T* mean_out, T* rstd_out, const T* gamma,
                        const T* beta, const T* a, bool a_per_channel, double eps, Geometry g) {
  if (g.channels % (2 * kLanes) == 0) {
    forward_kernel_nwc<T, 2 * kLanes>(x, z, mean_out, rstd_out, gamma, beta, a, a_per_channel,
                                      eps, g);
  } else {
    forward_kernel_nwc<T, kLanes>(x, z, mean_out, rstd_out, gamma, beta, a, a_per_channel, eps,
                                  g);
  }
}

// Whether x is a (B, C, L) tensor laid out channels-last, with no gaps.
bool is_nwc(const Tensor& x) {
  if (x.dim() != 3 || x.is_contiguous()) {
    return false;
  }
  const int64_t channels = x.size(1);
  const int64_t length = x.size(2);
  return x.stride(1) == 1 && (length == 1 || x.stride(2) == channels) &&
         (x.size(0) == 1 || x.stride(0) == channels * length);
}

template <typename T>
void backward_kernel(const T* gz, const T* x, const T* mean_in, const T* rstd_in, const T* gamma,
                     const T* beta, const T* a, bool a_per_channel, T* gx, double* partial,
                     Geometry g) {
  const int64_t n = g.length;
  const double inv_n = 1.0 / static_cast<double>(n);
  at::parallel_for(0, g.rows, 1, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t c = r % g.channels;
      const T* __restrict__ xr = x + r * n;
      const T* __restrict__ gr = gz + r * n;
      const T mean = mean_in[r];
      const T rstd = rstd_in[r];
      const T scale = rstd * gamma[c];
      const T bias = beta[c] - mean * scale;
      const T slope = a[a_per_channel ? c : 0];
      // s1 = sum(gy), s2 = sum(gy * (x - mean)), s3 = sum over y <= 0 of y * gz: summed in
      // T within short blocks (branch-free, so that the loop vectorises), then in double.
      double s1 = 0.0;
      double s2 = 0.0;
      double s3 = 0.0;
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
          const T gy = gi * (y > T(0) ? T(1) : slope);
          b1 += gy;
          b2 += gy * (xv - mean);
          b3 += std::min(y, T(0)) * gi;
        }
        s1 += static_cast<double>(b1);
        s2 += static_cast<double>(b2);
        s3 += static_cast<double>(b3);
      }
      const double rstd_d = static_cast<double>(rstd);
      double* p = partial + 3 * r;
      p[0] = s1;
      p[1] = s2 * rstd_d;
      p[2] = s3;
      if (gx == nullptr) {
        continue;
      }
      // gx = k * (gy - mean(gy) - xhat * mean(gy * xhat)),  k = gamma * rstd.
      const double k = static_cast<double>(gamma[c]) * rstd_d;
      const T kt = static_cast<T>(k);
      const T c1 = static_cast<T>(-k * s1 * inv_n);
      const T c2 = static_cast<T>(-k * rstd_d * rstd_d * s2 * inv_n);
      T* __restrict__ gxr = gx + r * n;
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) {
        const T y = xr[i] * scale + bias;
        const T gi = gr[i];
        const T gy = gi * (y > T(0) ? T(1) : slope);
        gxr[i] = kt * gy + c2 * (xr[i] - mean) + c1;
      }
    }
  });
}

std::tuple<Tensor, Tensor, Tensor> in_prelu_forward_nwc(const Tensor& x, const Tensor& gamma,
                                                        const Tensor& beta, const Tensor& a,
                                                        double eps) {
  const Geometry g = check_inputs(x, gamma, beta, a);
  Tensor z = at::empty_strided(x.sizes(), x.strides(), x.options());
  Tensor mean = at::empty({x.size(0), x.size(1)}, x.options());
  Tensor rstd = at::empty({x.size(0), x.size(1)}, x.options());
  const bool per_channel = a.numel() == g.channels && g.channels > 1;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "mdnc_in_prelu_forward_nwc", [&] {
    forward_kernel_nwc<scalar_t>(x.const_data_ptr<scalar_t>(), z.mutable_data_ptr<scalar_t>(),
                                 mean.mutable_data_ptr<scalar_t>(),
                                 rstd.mutable_data_ptr<scalar_t>(),
                                 gamma.const_data_ptr<scalar_t>(), beta.const_data_ptr<scalar_t>(),
                                 a.const_data_ptr<scalar_t>(), per_channel, eps, g);
  });
  return {z, mean, rstd};
}

std::tuple<Tensor, Tensor, Tensor> in_prelu_forward(const Tensor& x_in, const Tensor& gamma_in,
                                                    const Tensor& beta_in, const Tensor& a_in,
                                                    double eps) {
  if (is_nwc(x_in)) {
    return in_prelu_forward_nwc(x_in, gamma_in.contiguous(), beta_in.contiguous(),
                                a_in.contiguous(), eps);
  }
  const Tensor x = x_in.contiguous();
  const Tensor gamma = gamma_in.contiguous();
  const Tensor beta = beta_in.contiguous();
  const Tensor a = a_in.contiguous();
  const Geometry g = check_inputs(x, gamma, beta, a);
  Tensor z = at::empty_like(x, at::MemoryFormat::Contiguous);
  Tensor mean = at::empty({x.size(0), x.size(1)}, x.options());
  Tensor rstd = at::empty({x.size(0), x.size(1)}, x.options());
  const bool per_channel = a.numel() == g.channels && g.channels > 1;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "mdnc_in_prelu_forward", [&] {
    forward_kernel<scalar_t>(x.const_data_ptr<scalar_t>(), z.mutable_data_ptr<scalar_t>(),
                             mean.mutable_data_ptr<scalar_t>(), rstd.mutable_data_ptr<scalar_t>(),
                             gamma.const_data_ptr<scalar_t>(), beta.const_data_ptr<scalar_t>(),
                             a.const_data_ptr<scalar_t>(), per_channel, eps, g);
  });
  return {z, mean, rstd};
}

std::tuple<Tensor, Tensor, Tensor, Tensor> in_prelu_backward(
    const Tensor& gz_in, const Tensor& x_in, const Tensor& mean_in, const Tensor& rstd_in,
    const Tensor& gamma_in, const Tensor& beta_in, const Tensor& a_in, bool need_gx) {
  const Tensor gz = gz_in.contiguous();
  const Tensor x = x_in.contiguous();
  const Tensor mean = mean_in.contiguous();
  const Tensor rstd = rstd_in.contiguous();
  const Tensor gamma = gamma_in.contiguous();
  const Tensor beta = beta_in.contiguous();
  const Tensor a = a_in.contiguous();
  const Geometry g = check_inputs(x, gamma, beta, a);
  TORCH_CHECK(gz.sizes() == x.sizes() && gz.scalar_type() == x.scalar_type(),
              "mdnc fused: grad_output must match x");
  TORCH_CHECK(mean.numel() == g.rows && rstd.numel() == g.rows,
              "mdnc fused: mean and rstd must have B * C elements");
  Tensor gx;
  if (need_gx) {
    gx = at::empty_like(x, at::MemoryFormat::Contiguous);
  }
  std::vector<double> partial(static_cast<size_t>(3 * g.rows));
  const bool per_channel = a.numel() == g.channels && g.channels > 1;
  Tensor ggamma = at::empty_like(gamma, at::MemoryFormat::Contiguous);
  Tensor gbeta = at::empty_like(beta, at::MemoryFormat::Contiguous);
  Tensor ga = at::empty_like(a, at::MemoryFormat::Contiguous);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "mdnc_in_prelu_backward", [&] {
    backward_kernel<scalar_t>(
        gz.const_data_ptr<scalar_t>(), x.const_data_ptr<scalar_t>(),
        mean.const_data_ptr<scalar_t>(), rstd.const_data_ptr<scalar_t>(),
        gamma.const_data_ptr<scalar_t>(), beta.const_data_ptr<scalar_t>(),
        a.const_data_ptr<scalar_t>(), per_channel,
        need_gx ? gx.mutable_data_ptr<scalar_t>() : nullptr, partial.data(), g);
    // Fixed-order reductions over the batch (and the channels for a shared PReLU weight).
    const int64_t batch = g.rows / g.channels;
    scalar_t* gg = ggamma.mutable_data_ptr<scalar_t>();
    scalar_t* gb = gbeta.mutable_data_ptr<scalar_t>();
    scalar_t* gap = ga.mutable_data_ptr<scalar_t>();
    double shared = 0.0;
    for (int64_t c = 0; c < g.channels; ++c) {
      double s1 = 0.0;
      double s2 = 0.0;
      double s3 = 0.0;
      for (int64_t b = 0; b < batch; ++b) {
        const double* p = partial.data() + 3 * (b * g.channels + c);
        s1 += p[0];
        s2 += p[1];
        s3 += p[2];
      }
      gb[c] = static_cast<scalar_t>(s1);
      gg[c] = static_cast<scalar_t>(s2);
      if (per_channel) {
        gap[c] = static_cast<scalar_t>(s3);
      } else {
        shared += s3;
      }
    }
    if (!per_channel) {
      gap[0] = static_cast<scalar_t>(shared);
    }
  });
  return {gx, ggamma, gbeta, ga};
}

}  // namespace

TORCH_LIBRARY(mdnc_fused, m) {
  m.def("in_prelu_forward(Tensor x, Tensor gamma, Tensor beta, Tensor a, float eps)"
        " -> (Tensor, Tensor, Tensor)");
  m.def("in_prelu_backward(Tensor grad, Tensor x, Tensor mean, Tensor rstd, Tensor gamma,"
        " Tensor beta, Tensor a, bool need_grad_x) -> (Tensor, Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(mdnc_fused, CPU, m) {
  m.impl("in_prelu_forward", &in_prelu_forward);
  m.impl("in_prelu_backward", &in_prelu_backward);
}
