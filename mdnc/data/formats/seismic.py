"""``.mseed``/``.miniseed`` and ``.sac``: seismic waveforms, read and written with ObsPy
(``pip install "mdnc[seismic]"``).

A file holds traces (``NET.STA.LOC.CHA``). Traces of the same start, rate and length are
the channels of one part; a trace with gaps, or of its own start or length, is a part of
its own for each of its segments: segments are never joined, and are written back as
segments. The network, station, location and channel codes, start times, sampling rates,
encodings (``STEIM2``, ``FLOAT32`` ...), record length and byte order are kept; integer
encodings get the denoised values rounded to whole counts.

miniSEED is read a chunk of records at a time (about 1 MiB, through ``os.pread`` and
ObsPy's decoder), so memory stays bounded whatever the file's size; the description scans
the file's records once, a chunk at a time, and remembers where each segment's samples
are. Written, each part is encoded a block of samples at a time and appended. SAC files
(one trace, a fixed header and 32-bit samples) are read by offset and written whole.

A key chooses traces by their ids, comma-separated, with ``*`` and ``?`` wildcards
(``"IU.ANMO.00.BH?"``); the output then holds the traces chosen.
"""

from __future__ import annotations

import fnmatch
import io
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np

from ..recording import DataError, RecordingInfo
from . import register_format
from ._base import Backend, Format, Stage, WriteSpec, open_fd, open_handle, pread

__all__ = ["SeismicFormat"]

#: About how many bytes of records are decoded at a time.
CHUNK_BYTES = 1 << 20
#: Samples per channel encoded at a time when writing miniSEED.
FLUSH_SAMPLES = 1 << 18
_SAC_HEADER = 632
#: The numpy dtype of each miniSEED encoding that ObsPy writes; the others are written as
#: STEIM2 (integers) or FLOAT32.
_ENCODINGS = {"STEIM1": "int32", "STEIM2": "int32", "INT32": "int32", "INT16": "int16",
              "FLOAT32": "float32", "FLOAT64": "float64"}  # fmt: skip


def _iso(ns: int) -> str:
    from obspy import UTCDateTime

    return str(UTCDateTime(ns=int(ns)))


def _selected(path: Path, ids: list[str], key: str | None) -> set[str]:
    if key is None:
        return set(ids)
    patterns = [k.strip() for k in key.split(",") if k.strip()]
    chosen = {i for i in ids if any(fnmatch.fnmatchcase(i, p) for p in patterns)}
    if not chosen:
        listed = ", ".join(dict.fromkeys(ids))
        raise DataError(f"{path}: no trace matches {key!r}; traces: {listed}")
    return chosen


def _chunk_stream(raw: bytes, headonly: bool) -> Any:
    import obspy

    return obspy.read(io.BytesIO(raw), format="MSEED", headonly=headonly)


def _add_piece(segments: list[dict], last: dict[str, int], trace: Any, chunk: int) -> None:
    """Append a chunk's trace to the segment it continues, or start a segment."""
    stats = trace.stats
    start, rate = int(stats.starttime.ns), float(stats.sampling_rate)
    index = last.get(trace.id)
    if index is not None:
        seg = segments[index]
        end = seg["start"] + round(seg["npts"] * 1e9 / seg["rate"])
        if seg["rate"] == rate and abs(start - end) <= 0.5e9 / rate:
            seg["npts"] += int(stats.npts)
            seg["pieces"].append([chunk, start, int(stats.npts)])
            return
    encoding = str(stats.mseed.get("encoding", "STEIM2")) if "mseed" in stats else "STEIM2"
    last[trace.id] = len(segments)
    npts = int(stats.npts)
    segments.append({"id": trace.id, "start": start, "rate": rate, "npts": npts,
                     "encoding": encoding, "pieces": [[chunk, start, npts]]})  # fmt: skip


def _scan_mseed(path: Path) -> dict[str, Any]:
    """The segments of every trace, and where their samples are, a chunk at a time."""
    from obspy.io.mseed.util import get_record_information

    with open(path, "rb") as handle:
        first = get_record_information(handle)
    reclen, size = int(first["record_length"]), path.stat().st_size
    if size % reclen:
        raise DataError(
            f"{path}: truncated or damaged file ({size} bytes, not a whole number of "
            f"{reclen}-byte records)"
        )
    chunk = max(1, CHUNK_BYTES // reclen) * reclen
    segments: list[dict] = []
    last: dict[str, int] = {}
    with open(path, "rb") as handle:
        for k in range(math.ceil(size / chunk)):
            for trace in _chunk_stream(handle.read(chunk), headonly=True):
                _add_piece(segments, last, trace, k)
    if not segments:
        raise DataError(f"{path}: empty recording (no data records)")
    return {"kind": "mseed", "reclen": reclen, "chunk": chunk,
            "byteorder": str(first.get("byteorder", ">")), "segments": segments}  # fmt: skip


def _sac_words(path: Path) -> tuple[str, int]:
    """The byte order (from the header version, word 76) and the samples (word 79)."""
    with open(path, "rb") as handle:
        head = handle.read(_SAC_HEADER)
    if len(head) < _SAC_HEADER:
        raise DataError(f"{path}: truncated file (the SAC header ends at byte {len(head)})")
    order = "<" if 1 <= struct.unpack("<i", head[304:308])[0] <= 7 else ">"
    return order, struct.unpack(order + "i", head[316:320])[0]


def _scan_sac(path: Path) -> dict[str, Any]:
    import obspy

    order, npts = _sac_words(path)
    need, size = _SAC_HEADER + 4 * npts, path.stat().st_size
    if npts < 1 or size < need:
        raise DataError(
            f"{path}: truncated file (its header announces {npts} samples, {need} bytes; "
            f"the file holds {size})"
        )
    trace = obspy.read(path, format="SAC", headonly=True)[0]
    if int(trace.stats.sac.get("leven", 1)) != 1:
        raise DataError(f"{path}: an unevenly sampled SAC file; mdnc reads evenly sampled ones")
    segment = {"id": trace.id, "start": int(trace.stats.starttime.ns),
               "rate": float(trace.stats.sampling_rate), "npts": npts, "encoding": "FLOAT32",
               "pieces": []}  # fmt: skip
    return {"kind": "sac", "byteorder": order, "segments": [segment]}


def _parts(segments: list[dict], chosen: set[str]) -> list[list[int]]:
    """Segments of the same start, rate and length together (in file order)."""
    groups: dict[tuple, list[int]] = {}
    for i, seg in enumerate(segments):
        if seg["id"] in chosen:
            groups.setdefault((seg["start"], seg["rate"], seg["npts"]), []).append(i)
    return list(groups.values())


class _Chunks:
    """The decoded chunks of one miniSEED file, the last few kept."""

    def __init__(self, info: RecordingInfo) -> None:
        self.info, self.kept = info, {}

    def close(self) -> None:
        self.kept.clear()

    def trace(self, k: int, seg_id: str, start: int, rate: float) -> np.ndarray:
        if k not in self.kept:
            meta, fd = self.info.meta, open_fd(self.info)
            size = self.info.size or self.info.path.stat().st_size
            n = min(meta["chunk"], size - k * meta["chunk"])
            self.kept[k] = _chunk_stream(pread(fd, n, k * meta["chunk"], self.info.path), False)
            while len(self.kept) > 4:
                self.kept.pop(next(iter(self.kept)))
        for trace in self.kept[k]:
            near = abs(int(trace.stats.starttime.ns) - start) <= 0.5e9 / rate
            if trace.id == seg_id and near:
                return trace.data
        raise DataError(f"{self.info.path}: changed since it was described (a segment moved)")


def _segment_span(info: RecordingInfo, seg: dict, start: int, stop: int) -> np.ndarray:
    if info.meta["kind"] == "sac":
        dtype = np.dtype(np.float32).newbyteorder(info.meta["byteorder"])
        raw = pread(open_fd(info), 4 * (stop - start), _SAC_HEADER + 4 * start, info.path)
        return np.frombuffer(raw, dtype)
    chunks = open_handle(info, "mseed-chunks", lambda: _Chunks(info))
    out, at = [], 0
    for k, piece_start, npts in seg["pieces"]:
        a, b = max(start, at), min(stop, at + npts)
        if a < b:
            data = chunks.trace(k, seg["id"], piece_start, seg["rate"])
            out.append(data[a - at : b - at])
        at += npts
        if at >= stop:
            break
    return np.concatenate(out)


@register_format
class SeismicFormat(Format):
    name = "seismic"
    suffixes = (".mseed", ".miniseed", ".sac")
    summary = "miniSEED and SAC waveforms, headers and segments kept (obspy; mdnc[seismic])"
    requires = ("obspy",)
    extra = "seismic"
    key_help = "trace ids, comma-separated, with * and ? (default: every trace)"
    multipart = True

    def describe(self, path: Path, key: str | None) -> RecordingInfo:
        parts = self.describe_parts(path, key)
        if len(parts) > 1:
            raise DataError(f"{path}: holds {len(parts)} parts; describe_parts gives each")
        return parts[0]

    def describe_parts(self, path: Path, key: str | None) -> list[RecordingInfo]:
        meta = _scan_sac(path) if path.suffix.lower() == ".sac" else _scan_mseed(path)
        segments = meta["segments"]
        groups = _parts(segments, _selected(path, [s["id"] for s in segments], key))
        meta["parts"] = groups
        infos = []
        for i, group in enumerate(groups):
            first = segments[group[0]]
            dtype = _ENCODINGS.get(first["encoding"], "float32")
            infos.append(RecordingInfo(
                path, self.name, len(group), first["npts"], dtype, key=key,
                sample_rate=first["rate"], channel_names=[segments[s]["id"] for s in group],
                start_time=_iso(first["start"]), meta={**meta, "part": i},
            ))  # fmt: skip
        return infos

    def read_span(self, info: RecordingInfo, start: int, stop: int) -> np.ndarray:
        segments = info.meta["segments"]
        group = info.meta["parts"][info.meta["part"]]
        return np.stack([_segment_span(info, segments[s], start, stop) for s in group])

    def prepare(self, spec: WriteSpec) -> dict[str, Any]:
        like = spec.like
        meta = like.meta if getattr(like, "format", None) == self.name else {}
        if not meta:
            raise DataError(
                f"{spec.path}: a seismic file is written with the headers of the one it came "
                "from; pass like= the recording read from a miniSEED or SAC file"
            )
        source_sac = meta["kind"] == "sac"
        if source_sac != (spec.path.suffix.lower() == ".sac"):
            raise DataError(f"{spec.path}: {like.path} is {Path(like.path).suffix}; keep it")
        shapes = tuple((len(g), meta["segments"][g[0]]["npts"]) for g in meta["parts"])
        if tuple(spec.parts) != shapes:
            raise DataError(
                f"{spec.path}: {like.path} holds parts of (channels, samples) {list(shapes)}; "
                f"got {list(spec.parts)}"
            )
        return {"meta": meta, "source": Path(like.path)}

    def open_backend(self, stage: Stage, spec: WriteSpec) -> Backend:
        if spec.options["meta"]["kind"] == "sac":
            return _SacBackend(stage(spec.path), spec)
        return _MseedBackend(stage(spec.path), spec)


def _cast(values: np.ndarray, dtype: str) -> np.ndarray:
    if dtype.startswith("int"):
        info = np.iinfo(dtype)
        return np.clip(np.rint(values.astype(np.float64)), info.min, info.max).astype(dtype)
    return values.astype(dtype)


class _MseedBackend(Backend):
    """Each part's samples, encoded :data:`FLUSH_SAMPLES` at a time and appended."""

    def __init__(self, tmp: Path, spec: WriteSpec) -> None:
        self._meta = spec.options["meta"]
        self._file = open(tmp, "wb")
        self._pending: list[np.ndarray] = []
        self._part, self._at = 0, 0  # the part buffered, the sample its buffer starts at

    def write(self, block: np.ndarray, start: int, part: int = 0) -> None:
        if part != self._part:
            self._flush()
            self._part, self._at = part, 0
        self._pending.append(np.array(block, dtype=np.float32))
        if sum(b.shape[1] for b in self._pending) >= FLUSH_SAMPLES:
            self._flush()

    def _flush(self) -> None:
        from obspy import Trace, UTCDateTime

        if not self._pending:
            return
        data = np.concatenate(self._pending, axis=1)
        self._pending = []
        meta = self._meta
        for row, s in zip(data, meta["parts"][self._part], strict=True):
            seg = meta["segments"][s]
            network, station, location, channel = seg["id"].split(".")
            encoding = seg["encoding"] if seg["encoding"] in _ENCODINGS else "STEIM2"
            start = seg["start"] + round(self._at * 1e9 / seg["rate"])
            trace = Trace(_cast(row, _ENCODINGS[encoding]), header={
                "network": network, "station": station, "location": location,
                "channel": channel, "sampling_rate": seg["rate"],
                "starttime": UTCDateTime(ns=start)})  # fmt: skip
            buffer = io.BytesIO()
            trace.write(buffer, format="MSEED", encoding=encoding, reclen=meta["reclen"],
                        byteorder=meta["byteorder"])  # fmt: skip
            self._file.write(buffer.getvalue())
        self._at += data.shape[1]

    def finish(self) -> None:
        self._flush()
        self._file.close()


class _SacBackend(Backend):
    """The trace kept in memory, then written by ObsPy under the source's header."""

    def __init__(self, tmp: Path, spec: WriteSpec) -> None:
        self._tmp, self._source, self._blocks = tmp, spec.options["source"], []

    def write(self, block: np.ndarray, start: int, part: int = 0) -> None:
        self._blocks.append(np.array(block[0], dtype=np.float32))

    def finish(self) -> None:
        import obspy

        trace = obspy.read(self._source, format="SAC", headonly=True)[0]
        trace.data = np.concatenate(self._blocks)
        self._blocks = []
        trace.write(str(self._tmp), format="SAC")

    def discard(self) -> None:
        self._blocks = []
