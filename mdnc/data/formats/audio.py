"""``.wav``/``.flac``: soundfile; frames x channels is transposed to channels x frames.

The sample rate and the subtype (``PCM_16``, ``FLOAT`` ...) are kept. Without a matching
subtype, WAV is written as 32-bit float and FLAC as 24-bit PCM; samples are clipped to
[-1, 1] for every integer (PCM) subtype, since libsndfile wraps around rather than clipping.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..recording import DataError, Recording, RecordingInfo, finish
from . import register_format
from ._base import Backend, Format, Stage, WriteSpec, open_handle

# soundfile subtypes stored as floating point; every other subtype is integer-coded and needs
# samples in [-1, 1].
FLOAT_SUBTYPES = frozenset({"FLOAT", "DOUBLE"})
# Subtypes used without a matching recording to copy the subtype from: float for WAV keeps
# every value; FLAC stores integers only.
_DEFAULT_SUBTYPES = {".wav": "FLOAT", ".flac": "PCM_24"}
_CONTAINERS = {".wav": "WAV", ".flac": "FLAC"}


class _AudioBackend(Backend):
    def __init__(self, tmp: Path, spec: WriteSpec) -> None:
        import soundfile

        options = spec.options
        self._clip = options["subtype"] not in FLOAT_SUBTYPES
        self._file = soundfile.SoundFile(
            os.fspath(tmp), "w", samplerate=int(options["sample_rate"]),
            channels=spec.channels, subtype=options["subtype"], format=options["container"],
        )  # fmt: skip

    def write(self, block: np.ndarray, start: int, part: int = 0) -> None:
        if self._clip:
            block = np.clip(block, -1.0, 1.0)
        self._file.write(block.T)


class _AudioFormat(Format):
    """Audio files of one container (soundfile)."""

    def describe(self, path: Path, key: str | None) -> RecordingInfo:
        import soundfile

        self._no_key(path, key)
        info = soundfile.info(str(path))
        if info.frames <= 0:
            raise DataError(f"{path}: empty recording (0 frames)")
        return RecordingInfo(
            path, self.name, int(info.channels), int(info.frames), "float32", 2,
            sample_rate=int(info.samplerate), subtype=info.subtype,
        )  # fmt: skip

    def read_span(self, info: RecordingInfo, start: int, stop: int) -> np.ndarray:
        import soundfile

        handle = open_handle(info, "soundfile", lambda: soundfile.SoundFile(info.path))
        handle.seek(start)
        frames = handle.read(stop - start, dtype="float32", always_2d=True)
        if frames.shape[0] != stop - start:
            raise DataError(f"{info.path}: truncated file (ends before sample {stop})")
        return frames.T

    def read(self, path: Path, key: str | None) -> Recording:
        import soundfile

        self._no_key(path, key)
        with soundfile.SoundFile(path) as handle:
            subtype = handle.subtype
            rate = int(handle.samplerate)
            frames = handle.read(dtype="float32", always_2d=True)
        if frames.size == 0:
            raise DataError(f"{path}: empty recording (0 frames)")
        return finish(frames.T, path, self.name, warn_shape=False, sample_rate=rate,
                      subtype=subtype)  # fmt: skip

    @staticmethod
    def _no_key(path: Path, key: str | None) -> None:
        if key is not None:
            raise DataError(f"{path}: an audio file holds one signal; got key {key!r}")

    def prepare(self, spec: WriteSpec) -> dict[str, Any]:
        import soundfile

        suffix = spec.path.suffix.lower()
        rate = getattr(spec.like, "sample_rate", None)
        if rate is None:
            raise DataError(
                f"{spec.path}: writing a {suffix} file needs a sample rate; pass like= a "
                "recording that has one, or sample_rate="
            )
        if not float(rate).is_integer():
            raise DataError(
                f"{spec.path}: a {suffix} file holds a whole number of samples per second, "
                f"got a sample rate of {rate}"
            )
        container = _CONTAINERS[suffix]
        subtype = getattr(spec.like, "subtype", None)
        if subtype is None or not soundfile.check_format(container, subtype):
            subtype = _DEFAULT_SUBTYPES[suffix]
        return {"sample_rate": int(rate), "subtype": subtype, "container": container}

    def open_backend(self, stage: Stage, spec: WriteSpec) -> Backend:
        return _AudioBackend(stage(spec.path), spec)

    def write(self, stage: Stage, spec: WriteSpec, data: np.ndarray) -> None:
        import soundfile

        options = spec.options
        if options["subtype"] not in FLOAT_SUBTYPES:
            data = np.clip(data, -1.0, 1.0)
        with open(stage(spec.path), "wb") as handle:
            soundfile.write(handle, data.T, options["sample_rate"], subtype=options["subtype"],
                            format=options["container"])  # fmt: skip


@register_format
class WavFormat(_AudioFormat):
    name = "wav"
    suffixes = (".wav",)
    summary = "WAV audio (soundfile); the sample rate and subtype are kept"


@register_format
class FlacFormat(_AudioFormat):
    name = "flac"
    suffixes = (".flac",)
    summary = "FLAC audio (soundfile); the sample rate and subtype are kept"
