"""``.hea``: a PhysioNet WFDB record (the header names the record; its signal files sit
beside it), read and written with wfdb (``pip install "mdnc[biosignal]"``).

The sampling frequency, signal names, units, ADC gains and baselines, signal formats
(``212``, ``16``, ``24``, ``32`` ...), base date and time and the header's comments are
kept; samples are physical values, mapped back through each signal's gain and baseline
when written (clipped to the format's range). Spans are read with ``sampfrom``/``sampto``
(only their bytes). A record is written whole: its samples are held in memory until the
last block, then written as signal files and a header, the header last.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..recording import DataError, RecordingInfo
from . import register_format
from ._base import Backend, Format, Stage, WriteSpec

__all__ = ["WfdbFormat"]

#: Bits per sample of the signal formats (for the size of a signal file).
_BITS = {"8": 8, "80": 8, "16": 16, "61": 16, "160": 16, "212": 12, "24": 24, "32": 32,
         "310": 32 / 3, "311": 32 / 3}  # fmt: skip
#: The formats wfdb writes, by their bits; a record in another one is written as 16.
_WRITTEN = {"80": 8, "212": 12, "16": 16, "24": 24, "32": 32}


def _record_name(path: Path) -> str:
    return os.fspath(path.with_suffix(""))


def _header(path: Path) -> Any:
    import wfdb

    header = wfdb.rdheader(_record_name(path))
    if isinstance(header, wfdb.MultiRecord) or getattr(header, "seg_name", None):
        raise DataError(f"{path}: a multi-segment WFDB record; mdnc reads single-segment ones")
    if not header.n_sig:
        raise DataError(f"{path}: empty recording (the header lists no signals)")
    if not header.sig_len:
        raise DataError(f"{path}: the header gives no number of samples")
    if any(n != 1 for n in header.samps_per_frame):
        raise DataError(f"{path}: signals of several samples per frame are not supported")
    return header


def _check_files(path: Path, header: Any) -> None:
    """Every signal file exists and holds the samples the header announces."""
    files: dict[str, list[int]] = {}
    for i, name in enumerate(header.file_name):
        files.setdefault(name, []).append(i)
    for name, signals in files.items():
        file = path.parent / name
        if not file.is_file():
            raise DataError(f"{path}: its signal file {name} is missing (expected {file})")
        fmt = header.fmt[signals[0]]
        if fmt not in _BITS:
            continue  # compressed (FLAC) signal files: wfdb checks them as it reads
        offset = (header.byte_offset[signals[0]] or 0)
        need = offset + math.ceil(header.sig_len * len(signals) * _BITS[fmt] / 8)
        size = file.stat().st_size
        if size < need:
            raise DataError(
                f"{path}: truncated record ({name} holds {size} bytes; the header announces "
                f"{header.sig_len} samples of {len(signals)} signal(s) in format {fmt}, "
                f"{need} bytes)"
            )


@register_format
class WfdbFormat(Format):
    name = "wfdb"
    suffixes = (".hea",)
    summary = "PhysioNet WFDB records: .hea header and signal files (wfdb; mdnc[biosignal])"
    requires = ("wfdb",)
    extra = "biosignal"

    def describe(self, path: Path, key: str | None) -> RecordingInfo:
        self.check_key(path, key)
        header = _header(path)
        _check_files(path, header)
        start = None
        if header.base_time is not None:
            import datetime

            date = header.base_date
            start = (datetime.datetime.combine(date, header.base_time).isoformat()
                     if date is not None else header.base_time.isoformat())  # fmt: skip
        meta = {
            "fmt": list(header.fmt), "adc_gain": [float(g) for g in header.adc_gain],
            "baseline": [int(b) for b in header.baseline], "file_name": list(header.file_name),
            "comments": list(header.comments or []),
            "base_time": None if header.base_time is None else header.base_time.isoformat(),
            "base_date": None if header.base_date is None else header.base_date.isoformat(),
        }  # fmt: skip
        return RecordingInfo(
            path, self.name, int(header.n_sig), int(header.sig_len), "float64",
            sample_rate=float(header.fs), channel_names=list(header.sig_name),
            units=list(header.units), start_time=start, meta=meta,
        )  # fmt: skip

    def read_span(self, info: RecordingInfo, start: int, stop: int) -> np.ndarray:
        import wfdb

        record = wfdb.rdrecord(_record_name(info.path), sampfrom=start, sampto=stop)
        return np.asarray(record.p_signal, dtype=np.float64).T

    def prepare(self, spec: WriteSpec) -> dict[str, Any]:
        like = spec.like
        meta = dict(like.meta) if getattr(like, "format", None) == self.name else {}
        if not meta:
            rate = like.sample_rate
            if rate is None:
                raise DataError(
                    f"{spec.path}: writing a WFDB record needs a sample rate; pass like= a "
                    "recording that has one, or sample_rate="
                )
            stem = spec.path.stem
            meta = {"fmt": ["32"] * spec.channels, "adc_gain": None, "baseline": None,
                    "file_name": [f"{stem}.dat"] * spec.channels, "comments": [],
                    "base_time": None, "base_date": None}  # fmt: skip
        elif len(meta["fmt"]) != spec.channels:
            raise DataError(
                f"{spec.path}: {like.path} holds {len(meta['fmt'])} signals; got "
                f"{spec.channels} channels"
            )
        names = like.channel_names or [f"ch{i}" for i in range(spec.channels)]
        units = like.units or ["NU"] * spec.channels
        return {"meta": meta, "fs": float(like.sample_rate), "names": names, "units": units}

    def open_backend(self, stage: Stage, spec: WriteSpec) -> Backend:
        return _WfdbBackend(stage, spec)

    def companions(self, path: Path) -> list[Path]:
        try:
            return [path.parent / n for n in dict.fromkeys(_header(path).file_name)]
        except Exception:
            return []


def _digital(data: np.ndarray, meta: dict[str, Any]) -> tuple[np.ndarray, list[str], Any, Any]:
    """Digital samples ``(samples, signals)`` for the formats wfdb writes, the formats, the
    gains and the baselines (a new record: 32-bit, a gain for its largest value)."""
    fmts = [f if f in _WRITTEN else "16" for f in meta["fmt"]]
    gains, baselines = meta["adc_gain"], meta["baseline"]
    if gains is None:
        peak = np.maximum(np.abs(data).max(axis=1), 1e-12)
        gains = [float(2**30 / p) for p in peak]
        baselines = [0] * data.shape[0]
    columns = []
    for row, fmt, gain, base in zip(data, fmts, gains, baselines, strict=True):
        top = 2 ** (_WRITTEN[fmt] - 1) - 1  # the lowest value marks a missing sample
        value = np.rint(row.astype(np.float64) * gain + base)
        columns.append(np.clip(value, -top, top).astype(np.int64))
    return np.stack(columns, axis=1), fmts, gains, baselines


class _WfdbBackend(Backend):
    """The blocks kept in memory, then the record written by wfdb at :meth:`finish` into a
    hidden folder and moved onto the staged names (signal files first, header last)."""

    def __init__(self, stage: Stage, spec: WriteSpec) -> None:
        self._spec, self._blocks = spec, []
        meta = spec.options["meta"]
        self._targets = {n: stage(spec.path.parent / n) for n in dict.fromkeys(meta["file_name"])}
        self._header = stage(spec.path)

    def write(self, block: np.ndarray, start: int, part: int = 0) -> None:
        self._blocks.append(np.array(block, dtype=np.float32))

    def finish(self) -> None:
        import datetime

        import wfdb

        spec, options = self._spec, self._spec.options
        meta = options["meta"]
        data = np.concatenate(self._blocks, axis=1)
        self._blocks = []
        digital, fmts, gains, baselines = _digital(data, meta)
        folder = tempfile.mkdtemp(prefix=".mdnc-wfdb-", dir=spec.path.parent)
        try:
            wfdb.wrsamp(
                spec.path.stem, fs=options["fs"], units=options["units"],
                sig_name=options["names"], d_signal=digital, fmt=fmts, adc_gain=gains,
                baseline=baselines, comments=meta["comments"] or None,
                base_time=None if meta["base_time"] is None
                else datetime.time.fromisoformat(meta["base_time"]),
                base_date=None if meta["base_date"] is None
                else datetime.date.fromisoformat(meta["base_date"]),
                write_dir=folder,
            )  # fmt: skip
            for name, tmp in self._targets.items():
                os.replace(Path(folder) / name, tmp)
            os.replace(Path(folder) / f"{spec.path.stem}.hea", self._header)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def discard(self) -> None:
        self._blocks = []
