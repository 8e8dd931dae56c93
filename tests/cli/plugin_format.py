"""A plugin that adds a format, as an installed package would: one file, one registration.

``.toy`` files are text: a first line ``rate=<Hz>``, then one line of numbers per channel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mdnc.data import DataError, RecordingInfo
from mdnc.data.formats import Backend, Format, WriteSpec, register_format


def _load(path: Path) -> tuple[float, np.ndarray]:
    lines = path.read_text().splitlines()
    if not lines or not lines[0].startswith("rate="):
        raise DataError(f"{path}: not a toy file (no rate= line)")
    rows = [np.array(line.split(), dtype=np.float64) for line in lines[1:]]
    if not rows or len({r.size for r in rows}) != 1 or rows[0].size == 0:
        raise DataError(f"{path}: a toy file needs channels of one non-zero length")
    return float(lines[0][5:]), np.stack(rows)


class _ToyBackend(Backend):
    def __init__(self, tmp: Path, spec: WriteSpec) -> None:
        self.tmp, self.rate, self.blocks = tmp, spec.options["rate"], []

    def write(self, block: np.ndarray, start: int, part: int = 0) -> None:
        self.blocks.append(np.array(block))

    def finish(self) -> None:
        data = np.concatenate(self.blocks, axis=1)
        rows = "\n".join(" ".join(f"{v:.9g}" for v in row) for row in data)
        self.tmp.write_text(f"rate={self.rate:g}\n{rows}\n")


@register_format
class ToyFormat(Format):
    name = "toy"
    suffixes = (".toy",)
    summary = "a text format of the tests' plugin"

    def describe(self, path: Path, key: str | None) -> RecordingInfo:
        self.check_key(path, key)
        rate, data = _load(path)
        return RecordingInfo(path, self.name, data.shape[0], data.shape[1], "float64",
                             sample_rate=rate)  # fmt: skip

    def read_span(self, info: RecordingInfo, start: int, stop: int) -> np.ndarray:
        return _load(info.path)[1][:, start:stop]

    def prepare(self, spec: WriteSpec) -> dict[str, Any]:
        return {"rate": spec.like.sample_rate or 1.0}

    def open_backend(self, stage: Any, spec: WriteSpec) -> Backend:
        return _ToyBackend(stage(spec.path), spec)
