"""``.npz``: one array of a NumPy archive (``key``, else the only or the first one).

Members stored uncompressed (as :func:`numpy.savez` writes them) are read a span at a time
like a ``.npy`` file; a compressed member is read whole. Streamed writes go to a hidden
temporary ``.npy`` first, copied in blocks into an uncompressed member ``<key>.npy``.
"""

from __future__ import annotations

import contextlib
import shutil
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..._utils import _temporary_sibling
from ..recording import DataError, Recording, RecordingInfo, checked_shape, finish
from . import register_format
from ._base import Backend, Format, Stage, WriteSpec
from .npy import (
    NpyBackend,
    array_options,
    describe_npy,
    npy_header,
    read_array_span,
    stored_array,
)

#: Block size of the copy of the temporary ``.npy`` into the archive.
_COPY_BYTES = 16 << 20


def _member_offset(path: Path, member: zipfile.ZipInfo) -> int:
    """Where a stored member's bytes start: after its local header (30 bytes, the name and
    an extra field whose lengths are at bytes 26-29)."""
    with open(path, "rb") as handle:
        handle.seek(member.header_offset)
        local = handle.read(30)
    name_length, extra_length = struct.unpack("<HH", local[26:30])
    return member.header_offset + 30 + name_length + extra_length


def _check_zip(path: Path) -> None:
    with open(path, "rb") as handle:
        if handle.read(2) != b"PK":
            raise DataError(f"{path}: unreadable .npz file (not a zip archive)")


def _chosen(path: Path, names: list[str], key: str | None) -> str:
    if not names:
        raise DataError(f"{path}: empty recording (the archive holds no arrays)")
    if key is None:
        return names[0]
    if key not in names:
        raise DataError(f"{path}: no array named {key!r}; available arrays: {', '.join(names)}")
    return key


class _NpzBackend(Backend):
    def __init__(self, tmp: Path, spec: WriteSpec) -> None:
        self._tmp = tmp
        self._member = f"{spec.options['key'] or 'data'}.npy"
        # A name that remove_leftovers knows, should the process be killed.
        self._npy_path = _temporary_sibling(spec.path, ".npy")
        try:
            self._npy = NpyBackend(self._npy_path, spec)
        except BaseException:
            self._npy_path.unlink(missing_ok=True)
            raise

    def write(self, block: np.ndarray, start: int, part: int = 0) -> None:
        self._npy.write(block, start)

    def finish(self) -> None:
        self._npy.finish()
        # What np.savez writes: stored (uncompressed) members, zip64 headers.
        with (
            zipfile.ZipFile(self._tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as archive,
            archive.open(self._member, "w", force_zip64=True) as member,
            open(self._npy_path, "rb") as source,
        ):
            shutil.copyfileobj(source, member, _COPY_BYTES)
        self._npy_path.unlink()

    def discard(self) -> None:
        self._npy.discard()
        with contextlib.suppress(OSError):
            self._npy_path.unlink(missing_ok=True)


@register_format
class NpzFormat(Format):
    name = "npz"
    suffixes = (".npz",)
    summary = "one array of a NumPy archive"
    key_help = "the array of the archive (default: the only or the first one)"

    def describe(self, path: Path, key: str | None) -> RecordingInfo:
        _check_zip(path)
        with zipfile.ZipFile(path) as archive:
            listed = archive.infolist()
            members = {m.filename[:-4]: m for m in listed if m.filename.endswith(".npy")}
            key = _chosen(path, list(members), key)
            member = members[key]
            if member.compress_type == zipfile.ZIP_STORED:
                start = _member_offset(path, member)
                info = describe_npy(path, start, start + member.file_size)
                info.format, info.key = "npz", key
                return info
            with archive.open(member) as stream:
                shape, _, dtype = npy_header(stream)
        channels, length, ndim = checked_shape(path, shape, dtype)
        return RecordingInfo(path, "npz", channels, length, dtype.str, ndim, key=key)

    def is_lazy(self, info: RecordingInfo) -> bool:
        return info.offset is not None

    def read_span(self, info: RecordingInfo, start: int, stop: int) -> np.ndarray:
        return read_array_span(info, start, stop)

    def read(self, path: Path, key: str | None) -> Recording:
        _check_zip(path)
        with np.load(path, allow_pickle=False) as archive:
            key = _chosen(path, list(archive.files), key)
            data = archive[key]
        return finish(data, path, "npz", warn_shape=True, key=key)

    def prepare(self, spec: WriteSpec) -> dict[str, Any]:
        return array_options(spec)

    def open_backend(self, stage: Stage, spec: WriteSpec) -> Backend:
        return _NpzBackend(stage(spec.path), spec)

    def write(self, stage: Stage, spec: WriteSpec, data: np.ndarray) -> None:
        with open(stage(spec.path), "wb") as handle:
            np.savez(handle, **{spec.options["key"] or "data": stored_array(data, spec.options)})
