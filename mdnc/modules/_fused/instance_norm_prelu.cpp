// Fused instance norm (affine) + PReLU for contiguous CPU tensors of shape (B, C, *spatial).
//
// Each (b, c) pair is a row of N = prod(spatial) elements. The forward computes the row's
// mean and rstd (biased variance, eps as torch) in one pass, then writes
//     z = prelu_a(y),  y = x * s + t,  s = gamma * rstd,  t = beta - mean * s
// (the same folding as torch's batch-norm kernel). Only x, mean and rstd are kept for the
// backward, which recomputes y per element: one pass for the row sums, one pass writing
// grad_x. Parameter gradients are reduced from per-row partials in a fixed order, so they
// do not depend on the number of threads. The element loops are in kernels.h; this file
// is the ATen glue: checks, allocation, dispatch and the parallel loops over rows.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/empty_strided.h>
#include <torch/library.h>

#include <algorithm>
#include <cstdint>
#include <tuple>
#include <vector>

#include "kernels.h"

namespace {

using at::Tensor;

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
      const mdnc_kernels::RowStats stats = mdnc_kernels::row_stats(x + r * n, n, eps);
      const T mean = static_cast<T>(stats.mean);
      const T rstd = static_cast<T>(stats.rstd);
      mean_out[r] = mean;
      rstd_out[r] = rstd;
      const T scale = rstd * gamma[c];
      const T bias = beta[c] - mean * scale;
      mdnc_kernels::apply_row(x + r * n, z + r * n, n, scale, bias, a[a_per_channel ? c : 0]);
    }
  });
}

// The same forward for a (B, C, L) tensor laid out channels-last (NWC: x[b, l, c] at
// b * L * C + l * C + c), as the channels-last inference path keeps its activations. Each
// batch item is a block of L rows of C channels, read in chunks of kLanes channels
// (mdnc_kernels::nwc_chunk): the statistics of a chunk, then its normalisation.
using mdnc_kernels::kLanes;

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
        mdnc_kernels::nwc_chunk<T, Lanes>(x + offset, z + offset, n, channels, width, gamma + c0, beta + c0,
                            slope.data() + c0, eps, mean_out + row, rstd_out + row);
      } else {
        mdnc_kernels::nwc_chunk<T, kLanes - 1>(x + offset, z + offset, n, channels, width, gamma + c0,
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
      const T* xr = x + r * n;
      const T* gr = gz + r * n;
      const T mean = mean_in[r];
      const T rstd = rstd_in[r];
      const T scale = rstd * gamma[c];
      const T bias = beta[c] - mean * scale;
      const T slope = a[a_per_channel ? c : 0];
      const mdnc_kernels::RowSums sums =
          mdnc_kernels::backward_row_sums(xr, gr, n, scale, bias, slope, mean);
      const double rstd_d = static_cast<double>(rstd);
      double* p = partial + 3 * r;
      p[0] = sums.s1;
      p[1] = sums.s2 * rstd_d;
      p[2] = sums.s3;
      if (gx == nullptr) {
        continue;
      }
      // gx = k * (gy - mean(gy) - xhat * mean(gy * xhat)),  k = gamma * rstd.
      const double k = static_cast<double>(gamma[c]) * rstd_d;
      const T c1 = static_cast<T>(-k * sums.s1 * inv_n);
      const T c2 = static_cast<T>(-k * rstd_d * rstd_d * sums.s2 * inv_n);
      mdnc_kernels::backward_row_grad(xr, gr, gx + r * n, n, scale, bias, slope, mean,
                                      static_cast<T>(k), c1, c2);
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
