"""``.edf``/``.bdf``: EDF and EDF+ (16-bit) and BDF (24-bit) recordings.

The header is parsed by edfio (``pip install "mdnc[biosignal]"``): signal labels, physical
dimensions and ranges, digital ranges, samples per data record, start date and time,
patient and recording fields. The samples are read a span at a time, only the data records
the span covers, and mapped to physical values through each signal's own scaling; written,
they are mapped back through the same scaling (clipped to the digital range) into data
records under the input's header, byte for byte. Signals that were not read (EDF+
annotations, signals of another rate) are copied from the input's data records, so the
output is the input with new samples.

A key chooses signals by label (``"EEG Fpz-Cz,EEG Pz-Oz"``); by default every signal
except the annotations, which must then share one sampling rate.
"""

from __future__ import annotations

import datetime
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..recording import DataError, RecordingInfo
from . import register_format
from ._base import Backend, Format, Stage, WriteSpec, open_fd, pread, pwrite

__all__ = ["EdfFormat"]

_ANNOTATIONS = ("EDF Annotations", "BDF Annotations")


def _int_field(raw: bytes, path: Path, what: str) -> int:
    try:
        return int(raw.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise DataError(f"{path}: unreadable header ({what} is {raw!r}, not a number)") from None


def _header(path: Path) -> tuple[bytes, Any]:
    """The header bytes and edfio's parse of them (no data is read)."""
    import edfio

    with open(path, "rb") as handle:
        head = handle.read(256)
        if len(head) < 256:
            raise DataError(f"{path}: truncated file (the header ends at byte {len(head)})")
        signals = _int_field(head[252:256], path, "the number of signals")
        if not 0 < signals < 100_000:
            raise DataError(f"{path}: unreadable header (it announces {signals} signals)")
        header = head + handle.read(256 * signals)
    if len(header) < 256 * (signals + 1):
        raise DataError(f"{path}: truncated file (the header ends at byte {len(header)})")
    reader = edfio.read_bdf if path.suffix.lower() == ".bdf" else edfio.read_edf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "the header announces N records, the file 0"
        return header, reader(header)


def _chosen(path: Path, signals: list[Any], key: str | None) -> list[int]:
    """The indices of the signals read: the key's labels, else every data signal."""
    labels = [s.label for s in signals]
    if key is not None:
        wanted = [k.strip() for k in key.split(",") if k.strip()]
        missing = [w for w in wanted if w not in labels]
        if missing or not wanted:
            raise DataError(
                f"{path}: no signal labelled {', '.join(map(repr, missing or [key]))}; "
                f"signals: {', '.join(labels)}"
            )
        return [labels.index(w) for w in wanted]
    chosen = [i for i, s in enumerate(signals) if s.label not in _ANNOTATIONS]
    if not chosen:
        raise DataError(f"{path}: empty recording (no signals besides annotations)")
    rates = {signals[i].samples_per_data_record for i in chosen}
    if len(rates) > 1:
        groups: dict[float, list[str]] = {}
        for i in chosen:
            groups.setdefault(signals[i].sampling_frequency, []).append(labels[i])
        shown = "; ".join(f"{', '.join(v)}: {k:g} Hz" for k, v in groups.items())
        first = ",".join(next(iter(groups.values())))
        raise DataError(
            f"{path}: its signals have different sampling rates ({shown}); choose signals "
            f"of one rate with a key (--key '{first}')"
        )
    return chosen


def _layout(path: Path, header: bytes, edf: Any, chosen: list[int]) -> dict[str, Any]:
    """Where every signal's samples are in a data record, and how many records there are."""
    width = 3 if path.suffix.lower() == ".bdf" else 2
    spr = [s.samples_per_data_record for s in edf.signals]
    record = sum(spr) * width
    announced = _int_field(header[236:244], path, "the number of data records")
    size = path.stat().st_size
    held, rest = divmod(size - len(header), record) if record else (0, 0)
    if announced != -1 and (announced != held or rest):
        raise DataError(
            f"{path}: truncated or damaged file (its header announces {announced} data "
            f"records of {record} bytes after {len(header)} header bytes; the file holds "
            f"{size - len(header)} bytes)"
        )
    if header[192:197] == b"EDF+D" or header[192:197] == b"BDF+D":
        raise DataError(
            f"{path}: an EDF+D/BDF+D (discontinuous) recording; mdnc reads continuous "
            "recordings (EDF, EDF+C, BDF, BDF+C)"
        )
    scale = [[*map(float, s.physical_range), *map(int, s.digital_range)] for s in edf.signals]
    for i in chosen:
        pmin, pmax, dmin, dmax = scale[i]
        if dmax <= dmin or pmax == pmin:
            raise DataError(
                f"{path}: signal {edf.signals[i].label!r} has an empty physical or digital "
                f"range ({pmin:g}..{pmax:g}, {dmin}..{dmax})"
            )
    return {"width": width, "spr": spr, "record": record, "records": held,
            "header_bytes": len(header), "scale": scale}  # fmt: skip


def _start_time(edf: Any, header: bytes) -> str | None:
    """The start as ISO 8601: edfio's, else the header's own ``dd.mm.yy`` and ``hh.mm.ss``
    (an EDF+ file whose recording field anonymises the date); None if unreadable."""
    try:
        return datetime.datetime.combine(edf.startdate, edf.starttime).isoformat()
    except Exception:
        pass
    try:
        day, month, year = (int(v) for v in header[168:176].decode("ascii").split("."))
        hour, minute, second = (int(v) for v in header[176:184].decode("ascii").split("."))
        year += 1900 if year >= 85 else 2000  # the EDF convention for two-digit years
        return datetime.datetime(year, month, day, hour, minute, second).isoformat()
    except (UnicodeDecodeError, ValueError):
        return None


def _decode(raw: bytes, width: int, records: int) -> np.ndarray:
    """Data records as int32 ``(records, samples per record)``."""
    if width == 2:
        return np.frombuffer(raw, "<i2").reshape(records, -1).astype(np.int32)
    b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
    value = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
    value[value >= 1 << 23] -= 1 << 24
    return value.reshape(records, -1)


def _encode(digital: np.ndarray, width: int) -> bytes:
    if width == 2:
        return digital.astype("<i2").tobytes()
    value = digital.astype("<i4").reshape(-1, 1).view(np.uint8)[:, :3]
    return np.ascontiguousarray(value).tobytes()


def _records(meta: dict[str, Any], fd: int, path: Path, first: int, stop: int) -> np.ndarray:
    """Records ``first:stop`` of the file as int32 ``(n, samples per record)``."""
    at = meta["header_bytes"] + first * meta["record"]
    raw = pread(fd, (stop - first) * meta["record"], at, path)
    return _decode(raw, meta["width"], stop - first)


def _columns(meta: dict[str, Any], signal: int) -> slice:
    start = sum(meta["spr"][:signal])
    return slice(start, start + meta["spr"][signal])


@register_format
class EdfFormat(Format):
    name = "edf"
    suffixes = (".edf", ".bdf")
    summary = "EDF/EDF+ and BDF recordings, header kept (edfio; mdnc[biosignal])"
    requires = ("edfio",)
    extra = "biosignal"
    key_help = "signal labels, comma-separated (default: every signal but annotations)"

    def describe(self, path: Path, key: str | None) -> RecordingInfo:
        header, edf = _header(path)
        chosen = _chosen(path, list(edf.signals), key)
        meta = _layout(path, header, edf, chosen)
        meta.update(signals=chosen, header=header.decode("latin-1"))
        first = edf.signals[chosen[0]]
        n = meta["spr"][chosen[0]]
        if n * meta["records"] == 0:
            raise DataError(f"{path}: empty recording (no data records)")
        return RecordingInfo(
            path, self.name, len(chosen), n * meta["records"], "int16" if meta["width"] == 2
            else "int32", key=key, sample_rate=float(first.sampling_frequency),
            channel_names=[edf.signals[i].label for i in chosen],
            units=[edf.signals[i].physical_dimension for i in chosen],
            start_time=_start_time(edf, header), meta=meta,
        )  # fmt: skip

    def read_span(self, info: RecordingInfo, start: int, stop: int) -> np.ndarray:
        meta = info.meta
        n = meta["spr"][meta["signals"][0]]
        first, last = start // n, (stop - 1) // n + 1
        records = _records(meta, open_fd(info), info.path, first, last)
        out = np.empty((info.channels, stop - start), np.float32)
        for row, signal in enumerate(meta["signals"]):
            pmin, pmax, dmin, dmax = meta["scale"][signal]
            digital = records[:, _columns(meta, signal)].reshape(-1)[start - first * n :]
            gain = (pmax - pmin) / (dmax - dmin)
            out[row] = (digital[: stop - start] - dmin) * gain + pmin
        return out

    def prepare(self, spec: WriteSpec) -> dict[str, Any]:
        like = spec.like
        meta = like.meta if getattr(like, "format", None) == self.name else {}
        if not meta or like.path is None or not Path(like.path).is_file():
            raise DataError(
                f"{spec.path}: an EDF/BDF file is written with the header of the one it "
                "came from; pass like= the recording read from an EDF/BDF file"
            )
        if Path(like.path).suffix.lower() != spec.path.suffix.lower():
            raise DataError(
                f"{spec.path}: {like.path} is {Path(like.path).suffix}; write it to a "
                f"{Path(like.path).suffix} file"
            )
        n = meta["spr"][meta["signals"][0]]
        if spec.channels != len(meta["signals"]) or spec.length != n * meta["records"]:
            raise DataError(
                f"{spec.path}: {like.path} holds {len(meta['signals'])} x "
                f"{n * meta['records']} samples; got {spec.channels} x {spec.length}"
            )
        return {"meta": meta, "source": Path(like.path)}

    def open_backend(self, stage: Stage, spec: WriteSpec) -> Backend:
        return _EdfBackend(stage(spec.path), spec)


class _EdfBackend(Backend):
    """Whole data records, as the blocks fill them: the source's records with the chosen
    signals' samples replaced, under the source's header."""

    def __init__(self, tmp: Path, spec: WriteSpec) -> None:
        self._meta, self._source = spec.options["meta"], spec.options["source"]
        self._n = self._meta["spr"][self._meta["signals"][0]]
        self._pending = np.empty((spec.channels, 0), np.float32)
        self._done = 0  # records written
        self._file = open(tmp, "r+b")
        self._fd = os.open(self._source, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        pwrite(self._file, self._meta["header"].encode("latin-1"), 0)

    def write(self, block: np.ndarray, start: int, part: int = 0) -> None:
        self._pending = np.concatenate([self._pending, block], axis=1)
        whole = self._pending.shape[1] // self._n
        if whole:
            self._write_records(self._pending[:, : whole * self._n], whole)
            self._pending = self._pending[:, whole * self._n :]

    def _write_records(self, data: np.ndarray, count: int) -> None:
        meta, first = self._meta, self._done
        records = _records(meta, self._fd, self._source, first, first + count)
        for row, signal in enumerate(meta["signals"]):
            pmin, pmax, dmin, dmax = meta["scale"][signal]
            gain = (pmax - pmin) / (dmax - dmin)
            digital = np.clip(np.rint((data[row].astype(np.float64) - pmin) / gain + dmin),
                              dmin, dmax)  # fmt: skip
            records[:, _columns(meta, signal)] = digital.reshape(count, self._n)
        at = meta["header_bytes"] + first * meta["record"]
        pwrite(self._file, _encode(records, meta["width"]), at)
        self._done += count

    def finish(self) -> None:
        os.close(self._fd)
        self._file.close()

    def discard(self) -> None:
        for close in (lambda: os.close(self._fd), self._file.close):
            try:
                close()
            except Exception:  # noqa: S110 - releasing handles must not raise
                pass
