"""Compile the fused CPU kernels once into a cache folder: ``python -m mdnc.modules._fused.build``.

The library is built with the system C++ compiler (``$CXX``, else ``c++``) against the
installed PyTorch, without ninja or pybind11: the kernels register themselves as
``torch.ops.mdnc_fused.*`` and are loaded with :func:`torch.ops.load_library`.

The cache folder is ``$MDNC_EXT_DIR`` if set, else ``<venv>/mdnc_ext`` when running in a
virtual environment, else ``~/.cache/mdnc/ext``. The file name carries a hash of the
sources, the PyTorch version, the flags and the CPU's instruction sets (the code is built
with ``-march=native``, or the target ``$MDNC_MARCH`` names), so a changed source, target
or machine gets a fresh build.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import torch

from ..._utils import atomic_path

__all__ = ["SOURCE", "cache_dir", "library_path", "build", "main"]

SOURCE = Path(__file__).with_name("instance_norm_prelu.cpp")
HEADERS = (Path(__file__).with_name("kernels.h"),)
NAME = "mdnc_fused"
COMPILE = ("-O3", "-fopenmp", "-std=c++20", "-w")
LINK = ("-fPIC", "-shared")


def march() -> str:
    """The instruction-set target: ``$MDNC_MARCH`` (e.g. ``x86-64-v3``), else ``native``."""
    return os.environ.get("MDNC_MARCH", "").strip() or "native"


def cflags() -> tuple[str, ...]:
    """The compiler flags of the library (the target included)."""
    return (COMPILE[0], f"-march={march()}", *COMPILE[1:], *LINK)


def cache_dir() -> Path:
    """The folder that holds the compiled library."""
    env = os.environ.get("MDNC_EXT_DIR")
    if env:
        return Path(env).expanduser()
    if sys.prefix != sys.base_prefix:
        return Path(sys.prefix) / "mdnc_ext"
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "mdnc" / "ext"


def _cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    return line
    except OSError:
        pass
    import platform

    return platform.machine() + platform.processor()


def library_path() -> Path:
    """Where the library for this source, PyTorch, compiler flags and CPU lives."""
    key = hashlib.sha256()
    for part in (
        SOURCE.read_bytes(),
        *(h.read_bytes() for h in HEADERS),
        torch.__version__.encode(),
        str(torch.version.git_version).encode(),
        " ".join(cflags()).encode(),
        os.environ.get("CXX", "c++").encode(),
        _cpu_flags().encode(),
    ):
        key.update(part)
        key.update(b"\0")
    return cache_dir() / f"{NAME}_{key.hexdigest()[:16]}.so"


def _command(output: Path) -> list[str]:
    from torch.utils import cpp_extension

    includes = [f"-I{p}" for p in cpp_extension.include_paths()]
    libs = cpp_extension.library_paths()
    abi = int(torch._C._GLIBCXX_USE_CXX11_ABI)
    return [
        os.environ.get("CXX", "c++"),
        *cflags(),
        f"-D_GLIBCXX_USE_CXX11_ABI={abi}",
        *includes,
        str(SOURCE),
        "-o",
        str(output),
        *[f"-L{p}" for p in libs],
        "-lc10",
        "-ltorch_cpu",
        # The torch folder first, so that libgomp resolves to the one torch ships.
        *[f"-Wl,-rpath,{p}" for p in libs],
    ]


@contextlib.contextmanager
def locked(target: Path) -> Iterator[None]:
    """Hold the cache folder's lock file (concurrent processes, ``pytest -n``, wait)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{NAME}.lock", "w") as lock:
        try:
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:  # not POSIX: no cross-process lock
            pass
        yield


def build(force: bool = False) -> Path:
    """Compile the library unless it is already in the cache; return its path.

    Concurrent processes (``pytest -n``) wait on a lock file and build only once.

    Raises:
        RuntimeError: the compiler failed or is missing.
    """
    target = library_path()
    if target.exists() and not force:
        return target
    with locked(target):
        if target.exists() and not force:
            return target
        with atomic_path(target, ".so") as tmp:
            command = _command(tmp)
            try:
                done = subprocess.run(command, capture_output=True, text=True)
            except OSError as exc:
                raise RuntimeError(f"cannot run the C++ compiler {command[0]!r}: {exc}") from exc
            if done.returncode != 0:
                raise RuntimeError(
                    f"the C++ compiler {command[0]!r} exited with {done.returncode}:\n"
                    + done.stderr[-4000:]
                )
            os.chmod(tmp, 0o755)
    return target


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mdnc.modules._fused.build",
        description="Compile the fused CPU kernels for this host, time them against the stock "
        "PyTorch layers and keep them only on the paths where they are faster.",
        epilog="examples:\n"
        "  python -m mdnc.modules._fused.build              # build once, time, print the choice\n"
        "  python -m mdnc.modules._fused.build --retime     # time again (nothing else running)\n"
        "  python -m mdnc.modules._fused.build --march x86-64-v3 --force   # an AVX2 build",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--force", action="store_true", help="compile again, then time again")
    parser.add_argument("--retime", action="store_true", help="time again with the built library")
    parser.add_argument(
        "--march", metavar="TARGET", help="instruction-set target (default $MDNC_MARCH or native)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Build (``--force``: rebuild) and load the library, time it against the stock layers
    (once per library, ``--retime``: again), and print where it is and what was chosen."""
    args = _parser().parse_args(argv)
    if args.march:
        os.environ["MDNC_MARCH"] = args.march
    from . import _load, record

    start = time.perf_counter()
    cached = library_path().exists() and not args.force
    try:
        if args.force:
            build(force=True)
        if not _load():
            raise RuntimeError("the library did not load (see the warning above)")
        path = library_path()
        how = "already built" if cached else f"built in {time.perf_counter() - start:.1f} s"
        print(f"mdnc: fused CPU kernels {how} (-march={march()}): {path}")
        found = record(remeasure=args.force or args.retime)
    except Exception as exc:  # reported; the stock layers remain in use
        print(f"mdnc: fused kernels not built ({exc}); the stock PyTorch layers will be used.")
        return 1
    from .choice import summary

    print("mdnc: " + (summary(found) if "speedup" in found else f"timing failed: {found['error']}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
