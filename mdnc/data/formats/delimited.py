"""``.csv``: columns = channels, rows = samples; an optional header row of names.

The delimiter (``,``, ``;``, tab or white space) is detected from the first lines and
written back, as is the header row (when the channel count still matches). Text has no
offsets: a ``.csv`` file is read whole, so keep ``.csv`` data sets small.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from ..recording import DataError, Recording, RecordingInfo, finish, reason
from . import register_format
from ._base import Backend, Format, Stage, WriteSpec


def _detect_delimiter(sample: list[str]) -> str | None:
    """The delimiter of a table from its first lines: ``,``, ``;``, tab, or white space."""
    text = "\n".join(sample)
    counts = {d: text.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    if counts[best]:
        return best
    # The last sampled line is a data row even when the first is a header of quoted names.
    return None if len(sample[-1].split()) > 1 else ","


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _split_row(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return line.split()
    return [f.strip() for f in next(csv.reader([line], delimiter=delimiter))]


def _csv_problem(lines: list[str], rows: list[int], delimiter: str | None) -> str:
    """Find the first bad row for a precise message (only called once numpy has failed)."""
    width = None
    for i in rows:
        fields = _split_row(lines[i].split("#", 1)[0], delimiter)
        width = len(fields) if width is None else width
        if len(fields) != width:
            return f"line {i + 1} has {len(fields)} column(s), expected {width}"
        for column, text in enumerate(fields):
            if not _is_number(text):
                return f"line {i + 1}, column {column + 1}: {text!r} is not a number"
    return ""


def _read_csv(path: Path) -> Recording:
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    rows = [i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")]
    if not rows:
        raise DataError(f"{path}: empty recording (no rows)")
    delimiter = _detect_delimiter([lines[i] for i in rows[:2]])
    fields = _split_row(lines[rows[0]], delimiter)
    header = None
    if not all(_is_number(f) for f in fields):
        header = fields
        rows = rows[1:]
        if not rows:
            raise DataError(f"{path}: empty recording (a header but no rows)")
    try:
        table = np.loadtxt(
            [lines[i] for i in rows],
            delimiter=delimiter,
            ndmin=2,
            dtype=np.float64,
            quotechar='"',
            comments="#",
        )
    except ValueError as error:
        problem = _csv_problem(lines, rows, delimiter) or reason(error)
        raise DataError(f"{path}: unreadable .csv file ({problem})") from error
    if header is not None and len(header) != table.shape[1]:
        raise DataError(
            f"{path}: the header has {len(header)} column(s) but the rows have {table.shape[1]}"
        )
    return finish(table.T, path, "csv", warn_shape=False, header=header, delimiter=delimiter)



class _CsvBackend(Backend):
    def __init__(self, tmp: Path, spec: WriteSpec) -> None:
        delimiter = spec.options["delimiter"]
        self._separator = " " if delimiter is None else delimiter
        self._file = open(tmp, "w", encoding="utf-8", newline="")
        try:
            if spec.options["header"] is not None:
                writer = csv.writer(self._file, delimiter=self._separator, lineterminator="\n")
                writer.writerow(spec.options["header"])
        except BaseException:
            self._file.close()
            raise

    def write(self, block: np.ndarray, start: int, part: int = 0) -> None:
        # 9 significant digits give back every float32 exactly.
        np.savetxt(self._file, block.T, fmt="%.9g", delimiter=self._separator)


@register_format
class CsvFormat(Format):
    name = "csv"
    suffixes = (".csv",)
    summary = "columns = channels, rows = samples; an optional header row (read whole)"

    def describe(self, path: Path, key: str | None) -> RecordingInfo:
        rec = self.read(path, key)  # text has no header to read the size from
        return RecordingInfo(
            path, "csv", rec.channels, rec.length, "float64", 2,
            header=rec.header, delimiter=rec.delimiter,
        )  # fmt: skip

    def read(self, path: Path, key: str | None) -> Recording:
        if key is not None:
            raise DataError(f"{path}: a .csv file holds one table; got key {key!r}")
        return _read_csv(path)

    def prepare(self, spec: WriteSpec) -> dict[str, Any]:
        like = spec.like
        options: dict[str, Any] = {"delimiter": ",", "header": None}
        if getattr(like, "format", None) == "csv":
            options["delimiter"] = like.delimiter
            if like.header is not None and len(like.header) == spec.channels:
                options["header"] = like.header
        return options

    def open_backend(self, stage: Stage, spec: WriteSpec) -> Backend:
        return _CsvBackend(stage(spec.path), spec)

    def write(self, stage: Stage, spec: WriteSpec, data: np.ndarray) -> None:
        delimiter = spec.options["delimiter"]
        separator = " " if delimiter is None else delimiter
        buffer = io.StringIO()
        if spec.options["header"] is not None:
            csv.writer(buffer, delimiter=separator, lineterminator="\n").writerow(
                spec.options["header"]
            )
        np.savetxt(buffer, data.T, fmt="%.9g", delimiter=separator)
        with open(stage(spec.path), "w", encoding="utf-8", newline="") as handle:
            handle.write(buffer.getvalue())
