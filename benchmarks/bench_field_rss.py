"""Peak memory of ``mdnc denoise`` on large recordings in their fields' formats.

Writes an EDF (16 channels at 512 Hz, int16 data records) and a miniSEED file (one trace at
100 Hz, STEIM2 records of 4096 bytes) of about ``--gib`` GiB each, then runs
``mdnc denoise`` on each as a fresh process with a one-channel run (the EDF's channels go
through it in turn), and reports the wall time, the samples per second and the peak
resident memory (``ru_maxrss`` of the child), with the host. The files are made from a
small valid file by the fields' libraries (edfio, ObsPy), repeated: the EDF's data records
copied with its header's record count updated; the miniSEED trace written a block at a
time with advancing start times, so that it is one segment.

Writes ``benchmarks/results/field_rss.json``.

Usage:
    python benchmarks/bench_field_rss.py                 # 2 GiB each (several minutes)
    python benchmarks/bench_field_rss.py --gib 0.2       # a quick look
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mdnc._host import host_info, host_line  # noqa: E402


def make_edf(path: Path, gib: float) -> int:
    """An EDF of ~``gib`` GiB: 16 channels at 512 Hz; returns samples per channel."""
    import edfio

    seconds = 60
    signals = [edfio.EdfSignal(50 * np.sin(np.arange(512 * seconds) / (20 + c)) +
                               np.random.default_rng(c).standard_normal(512 * seconds),
                               512, label=f"EEG {c}", physical_dimension="uV",
                               physical_range=(-500, 500)) for c in range(16)]  # fmt: skip
    small = io.BytesIO()
    edfio.Edf(signals).write(small)
    raw = small.getvalue()
    header = 256 * 17
    record = 16 * 512 * 2
    records = int(gib * 2**30 // record)
    with open(path, "wb") as out:
        head = bytearray(raw[:header])
        head[236:244] = f"{records:<8d}".encode()
        out.write(head)
        body = raw[header:]
        for k in range(0, records, seconds):
            n = min(seconds, records - k)
            out.write(body[: n * record])
    return records * 512


def make_mseed(path: Path, gib: float) -> int:
    """A miniSEED file of ~``gib`` GiB: one trace, one segment; returns its samples."""
    import obspy

    block, start, done, size = 4_000_000, obspy.UTCDateTime(2020, 1, 1), 0, 0
    rng = np.random.default_rng(0)
    with open(path, "wb") as out:
        while size < gib * 2**30:
            t = np.arange(done, done + block) / 100.0
            data = (1000 * np.sin(2 * np.pi * 0.5 * t) + 200 * rng.standard_normal(block))
            trace = obspy.Trace(data.astype(np.int32), header={
                "network": "XX", "station": "BIG", "channel": "HHZ", "sampling_rate": 100.0,
                "starttime": start + done / 100.0})  # fmt: skip
            buffer = io.BytesIO()
            trace.write(buffer, format="MSEED", encoding="STEIM2", reclen=4096)
            out.write(buffer.getvalue())
            size += len(buffer.getvalue())
            done += block
    return done


def one_channel_run(folder: Path) -> Path:
    import torch

    from mdnc.checkpoint import build_model, model_config, save_checkpoint
    from mdnc.inference.spec import InferenceSpec

    torch.manual_seed(0)
    net = build_model(model_config("AE1d", channel=4, layers=[1, 1], in_planes=1, out_planes=1))
    save_checkpoint(folder, net, extra={"inference": InferenceSpec(window=1024).to_json()})
    return folder


def _high_water_kib(pid: int) -> int:
    """The process's peak resident memory so far (``VmHWM``; 0 once it has gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def denoise(run: Path, source: Path, out: Path) -> dict:
    """``mdnc denoise`` as a child process: wall time and its peak RSS, read from its
    ``VmHWM`` (``ru_maxrss`` of a child counts the parent's pages it had at the fork)."""
    began = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "mdnc", "denoise", "--checkpoint",
                              str(run), str(source), "--output", str(out), "--any-rate",
                              "--quiet"], cwd=ROOT)  # fmt: skip
    peak = 0
    while child.poll() is None:
        peak = max(peak, _high_water_kib(child.pid))
        time.sleep(0.05)
    if child.returncode:
        raise SystemExit(f"mdnc denoise {source} failed ({child.returncode})")
    return {"seconds": time.perf_counter() - began, "peak_rss_mib": peak / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=2.0, help="size of each file (2)")
    parser.add_argument("--folder", help="where to write the files (default: a temporary one)")
    parser.add_argument("--only", choices=("edf", "mseed"), help="one format only")
    args = parser.parse_args()
    print(host_line())
    results = {"host": host_info(), "gib": args.gib, "formats": {}}
    with tempfile.TemporaryDirectory(dir=args.folder) as tmp:
        folder = Path(tmp)
        run = one_channel_run(folder / "run")
        makers = {"edf": (make_edf, "big.edf", 16), "mseed": (make_mseed, "big.mseed", 1)}
        for name, (make, file, channels) in makers.items():
            if args.only and name != args.only:
                continue
            began = time.perf_counter()
            samples = make(folder / file, args.gib)
            made = time.perf_counter() - began
            size = (folder / file).stat().st_size
            row = denoise(run, folder / file, folder / "out")
            row.update(file_gib=size / 2**30, samples=samples * channels, made_s=made,
                       samples_per_s=samples * channels / row["seconds"])
            results["formats"][name] = row
            print(f"{name}: {size / 2**30:.2f} GiB, {samples * channels:.3g} samples, "
                  f"denoised in {row['seconds']:.0f} s ({row['samples_per_s']:.3g} samples/s), "
                  f"peak RSS {row['peak_rss_mib']:.0f} MiB")
            (folder / file).unlink()
            for p in (folder / "out").iterdir():
                p.unlink()
    target = ROOT / "benchmarks" / "results" / "field_rss.json"
    target.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
