"""Every element loop of the fused kernels vectorises, for every target the build may meet.

The kernels are compiled with ``-march=native``, so each host gets its own code: a loop
that vectorises for AVX-512 may stay scalar for AVX2 (a branch GCC cannot if-convert
without masked lanes). Here ``kernels.h`` alone (no PyTorch headers: under a second a
target) is compiled for several instruction-set levels, which needs the compiler only,
not a CPU that runs them, and GCC's vectorisation report must name every loop that
stands under ``#pragma omp simd``, in float32 and float64.
"""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mdnc.modules._fused import build

HEADER = build.SOURCE.with_name("kernels.h")

TARGETS = {
    "x86_64": ["x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4", "haswell", "znver3"],
    "aarch64": ["armv8-a", "armv8.2-a"],
}

INSTANCES = """
#include "kernels.h"
using namespace mdnc_kernels;
#define MDNC_INSTANCES(T)                                                                  \\
  template RowStats row_stats<T>(const T*, int64_t, double);                               \\
  template void apply_row<T>(const T*, T*, int64_t, T, T, T);                              \\
  template RowSums backward_row_sums<T>(const T*, const T*, int64_t, T, T, T, T);          \\
  template void backward_row_grad<T>(const T*, const T*, T*, int64_t, T, T, T, T, T, T, T); \\
  template void nwc_chunk<T, 16>(const T*, T*, int64_t, int64_t, int64_t, const T*,        \\
                                 const T*, const T*, double, T*, T*);                      \\
  template void nwc_chunk<T, 32>(const T*, T*, int64_t, int64_t, int64_t, const T*,        \\
                                 const T*, const T*, double, T*, T*);
MDNC_INSTANCES(float)
MDNC_INSTANCES(double)
"""


def simd_loops() -> list[range]:
    """The lines (1-based, ``for`` to its closing brace) of each loop right under
    ``#pragma omp simd`` in kernels.h: GCC reports a loop at one of them."""
    lines = HEADER.read_text(encoding="utf-8").split("\n")
    found = []
    for i, line in enumerate(lines):
        if line.strip().startswith("#pragma omp simd"):
            j = i + 1
            while not lines[j].strip().startswith("for"):
                j += 1
            indent = len(lines[j]) - len(lines[j].lstrip())
            end = j + 1
            while not (lines[end].startswith(" " * indent + "}")):
                end += 1
            found.append(range(j + 1, end + 2))
    return found


def gcc() -> str:
    compiler = shutil.which("g++") or shutil.which("c++")
    if compiler is None:
        pytest.skip("no C++ compiler")
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True).stdout
    if "Free Software Foundation" not in version:
        pytest.skip(f"{compiler} is not GCC: its vectorisation report reads differently")
    return compiler


def report(compiler: str, target: str, tmp: Path, dtype_flags: tuple[str, ...] = ()) -> str:
    source = tmp / "instances.cpp"
    source.write_text(INSTANCES, encoding="utf-8")
    flags = [f for f in build.cflags() if not f.startswith("-march") and f not in build.LINK]
    command = [
        compiler, *flags, f"-march={target}", f"-I{HEADER.parent}", "-c", str(source),
        "-o", str(tmp / "instances.o"), "-fopt-info-vec-optimized", *dtype_flags,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0 and ("march" in done.stderr or "bad value" in done.stderr):
        pytest.skip(f"{compiler} does not know -march={target}")
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stderr


def test_the_header_has_simd_loops() -> None:
    # row stats, apply, the two backward loops, the channels-last sums and apply.
    assert len(simd_loops()) == 6


@pytest.mark.parametrize("target", TARGETS.get(platform.machine(), []))
def test_every_simd_loop_vectorises(target: str, tmp_path: Path) -> None:
    text = report(gcc(), target, tmp_path)
    vectorised = {
        int(m.group(1))
        for m in re.finditer(r"kernels\.h:(\d+):\d+: optimized: loop vectorized", text)
    }
    missed = [loop.start for loop in simd_loops() if not vectorised.intersection(loop)]
    assert not missed, f"-march={target}: loops at kernels.h lines {missed} stay scalar"


def test_select_positive_matches_the_comparison(tmp_path: Path) -> None:
    # The branch-free select against `y > 0 ? a : b`, on the values where they could part:
    # both zeros, the smallest subnormals, the largest finite values and the infinities.
    compiler = gcc()
    source = tmp_path / "select.cpp"
    source.write_text(
        """
#include <cstdio>
#include <limits>
#include "kernels.h"
template <typename T> int check() {
  using L = std::numeric_limits<T>;
  const T values[] = {T(0), -T(0), L::denorm_min(), -L::denorm_min(), L::min(), -L::min(),
                      T(1), T(-1), L::max(), -L::max(), L::infinity(), -L::infinity()};
  int bad = 0;
  for (T y : values) {
    bad += mdnc_kernels::select_positive(y, T(1), T(2)) != (y > T(0) ? T(1) : T(2));
    const T z = mdnc_kernels::prelu(y, T(0.25));
    bad += z != (y > T(0) ? y : T(0.25) * y);
  }
  return bad;
}
int main() { std::printf("%d\\n", check<float>() + check<double>()); }
""",
        encoding="utf-8",
    )
    exe = tmp_path / "select"
    subprocess.run(
        [compiler, "-O2", "-std=c++20", f"-I{HEADER.parent}", str(source), "-o", str(exe)],
        check=True,
    )
    assert subprocess.run([str(exe)], capture_output=True, text=True).stdout.strip() == "0"
