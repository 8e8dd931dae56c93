"""The fields' formats: EDF/BDF, WFDB, miniSEED and SAC, read as their own libraries read
them, written back with their headers, and refused in one line when damaged."""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

import numpy as np
import pytest

from mdnc.data import DataError, LazyRecording, read_recording, write_recording
from mdnc.data.formats import format_of, list_formats
from mdnc.data.index import describe_parts, describe_recording
from mdnc.data.stream import RecordingWriter
from tests.data.field_files import (
    EDF_RATE,
    SEISMIC_RATE,
    START,
    WFDB_RATE,
    read_edf,
    write_edf,
    write_mseed,
    write_sac,
    write_wfdb,
)

edfio = pytest.importorskip("edfio")
wfdb = pytest.importorskip("wfdb")
obspy = pytest.importorskip("obspy")


def _edf_data(path: Path) -> np.ndarray:
    return np.stack([s.data for s in read_edf(path).signals])


# --------------------------------------------------------------------------------------------
# EDF and BDF


@pytest.mark.parametrize(("name", "channels"), [("a.edf", 3), ("b.bdf", 2)])
def test_edf_reads_as_edfio_reads_it(tmp_path: Path, name: str, channels: int) -> None:
    path = write_edf(tmp_path / name, channels=channels, bdf=name.endswith(".bdf"))
    rec = read_recording(path)
    np.testing.assert_allclose(rec.data, _edf_data(path), rtol=1e-6, atol=1e-4)
    assert (rec.format, rec.channels, rec.sample_rate) == ("edf", channels, EDF_RATE)
    assert rec.channel_names == [f"EEG C{c}" for c in range(channels)]
    assert rec.units == ["uV"] * channels
    assert rec.start_time == START.isoformat()
    lazy = LazyRecording(describe_recording(path))
    for a, b in [(0, 1), (250, 270), (255, 513), (1000, rec.length)]:  # across data records
        np.testing.assert_array_equal(lazy.read(a, b), rec.data[:, a:b])


@pytest.mark.parametrize("name", ["a.edf", "b.bdf"])
def test_edf_written_back_keeps_its_header_and_units(tmp_path: Path, name: str) -> None:
    path = write_edf(tmp_path / name, bdf=name.endswith(".bdf"))
    rec = read_recording(path)
    out = tmp_path / "out" / name
    out.parent.mkdir()
    write_recording(out, rec.data * 0.5, like=rec)
    header = 256 * (1 + rec.channels)
    assert out.read_bytes()[:header] == path.read_bytes()[:header]
    before, after = read_edf(path), read_edf(out)
    assert after.labels == before.labels
    assert repr(after.patient) == repr(before.patient)
    assert repr(after.recording) == repr(before.recording)
    assert (after.startdate, after.starttime) == (before.startdate, before.starttime)
    assert [s.physical_dimension for s in after.signals] == ["uV"] * rec.channels
    step = 1000 / (2**24 if name.endswith(".bdf") else 2**16)  # one digital unit
    np.testing.assert_allclose(_edf_data(out), _edf_data(path) * 0.5, atol=step)


def test_edf_streamed_in_odd_blocks_is_the_whole_write(tmp_path: Path) -> None:
    path = write_edf(tmp_path / "a.edf")
    rec = read_recording(path)
    (tmp_path / "whole").mkdir()
    (tmp_path / "blocks").mkdir()
    write_recording(tmp_path / "whole" / "a.edf", rec.data[::-1].copy(), like=rec)
    with RecordingWriter(tmp_path / "blocks" / "a.edf", 3, rec.length, like=rec) as out:
        for a in range(0, rec.length, 77):
            out.write(rec.data[::-1, a : a + 77])
    blocks, whole = tmp_path / "blocks" / "a.edf", tmp_path / "whole" / "a.edf"
    assert blocks.read_bytes() == whole.read_bytes()


def test_edf_key_chooses_signals_and_rates_must_agree(tmp_path: Path) -> None:
    signals = [edfio.EdfSignal(np.zeros(256 * 4), 256, label="EEG"),
               edfio.EdfSignal(np.zeros(32 * 4), 32, label="Resp")]  # fmt: skip
    path = tmp_path / "mixed.edf"
    edfio.Edf(signals).write(path)
    with pytest.raises(DataError, match=r"mixed\.edf: its signals have different sampling "
                       r"rates \(EEG: 256 Hz; Resp: 32 Hz\).*--key 'EEG'"):  # fmt: skip
        describe_recording(path)
    assert describe_recording(path, key="Resp").sample_rate == 32
    with pytest.raises(DataError, match=r"no signal labelled 'ECG'; signals: EEG, Resp"):
        describe_recording(path, key="ECG")


# --------------------------------------------------------------------------------------------
# WFDB


@pytest.mark.parametrize("fmt", ["212", "16", "24", "32"])
def test_wfdb_reads_and_writes_back_as_wfdb(tmp_path: Path, fmt: str) -> None:
    path = write_wfdb(tmp_path, fmt=fmt)
    rec = read_recording(path)
    ref = wfdb.rdrecord(str(tmp_path / "rec100"))
    np.testing.assert_allclose(rec.data, ref.p_signal.T, rtol=1e-6, atol=1e-6)
    assert (rec.sample_rate, rec.channel_names, rec.units) == (WFDB_RATE, ["MLII", "V5"],
                                                               ["mV", "mV"])  # fmt: skip
    assert rec.start_time == START.isoformat()
    np.testing.assert_array_equal(LazyRecording(describe_recording(path)).read(100, 900),
                                  rec.data[:, 100:900])  # fmt: skip
    (tmp_path / "out").mkdir()
    write_recording(tmp_path / "out" / "rec100.hea", rec.data * 0.5, like=rec)
    back = wfdb.rdrecord(str(tmp_path / "out" / "rec100"))
    assert (back.fs, back.sig_name, back.units, back.fmt) == (ref.fs, ref.sig_name, ref.units,
                                                              ref.fmt)  # fmt: skip
    assert (back.base_time, back.base_date, back.comments) == (ref.base_time, ref.base_date,
                                                               ref.comments)  # fmt: skip
    np.testing.assert_allclose(back.p_signal, ref.p_signal * 0.5, atol=1 / 200)


# --------------------------------------------------------------------------------------------
# miniSEED and SAC


def test_mseed_traces_are_channels_and_come_back_as_traces(tmp_path: Path) -> None:
    path = write_mseed(tmp_path / "q.mseed")
    (info,) = describe_parts(path)
    stream = obspy.read(str(path))
    assert info.channel_names == ["IU.ANMO.00.BHZ", "IU.ANMO.00.BHN", "IU.ANMO.00.BHE"]
    assert (info.sample_rate, info.start_time) == (SEISMIC_RATE, str(stream[0].stats.starttime))
    rec = read_recording(path)
    np.testing.assert_array_equal(rec.data, np.stack([t.data for t in stream]))
    (tmp_path / "out").mkdir()
    write_recording(tmp_path / "out" / "q.mseed", rec.data * 0.5 + 0.2, like=info)
    back = obspy.read(str(tmp_path / "out" / "q.mseed"))
    assert [t.id for t in back] == [t.id for t in stream]
    assert [t.stats.starttime for t in back] == [t.stats.starttime for t in stream]
    assert {t.stats.mseed.encoding for t in back} == {"STEIM2"}
    np.testing.assert_array_equal(np.stack([t.data for t in back]), np.rint(rec.data * 0.5 + 0.2))


def test_mseed_segments_stay_segments(tmp_path: Path) -> None:
    path = write_mseed(tmp_path / "gap.mseed", n=3000, gap=True)
    parts = describe_parts(path)
    assert [(p.channels, p.length) for p in parts] == [(3, 3000), (1, 1500)]
    assert parts[1].channel_names == ["IU.ANMO.00.BHZ"]
    with pytest.raises(DataError, match=r"gap\.mseed: holds 2 parts"):
        describe_recording(path)
    with pytest.raises(DataError, match="holds 2 parts"):
        read_recording(path)
    (tmp_path / "out").mkdir()
    shapes = [(p.channels, p.length) for p in parts]
    with RecordingWriter(tmp_path / "out" / "gap.mseed", 3, 3000, like=parts[0],
                         parts=shapes) as out:  # fmt: skip
        for p in parts:
            data = LazyRecording(p).load()
            for a in range(0, p.length, 1000):
                out.write(-data[:, a : a + 1000])
    before = obspy.read(str(path)).sort()
    after = obspy.read(str(tmp_path / "out" / "gap.mseed")).sort()
    assert [(t.id, t.stats.starttime, t.stats.npts) for t in after] == [
        (t.id, t.stats.starttime, t.stats.npts) for t in before
    ]
    for a, b in zip(after, before, strict=True):
        np.testing.assert_array_equal(a.data, -b.data)


def test_sac_reads_by_offset_and_writes_its_header_back(tmp_path: Path) -> None:
    path = write_sac(tmp_path / "s.sac")
    rec = read_recording(path)
    trace = obspy.read(str(path))[0]
    np.testing.assert_array_equal(rec.data[0], trace.data)
    assert rec.channel_names == ["IU.ANMO.00.HHZ"]
    np.testing.assert_array_equal(LazyRecording(describe_recording(path)).read(7, 4000),
                                  rec.data[:, 7:4000])  # fmt: skip
    (tmp_path / "out").mkdir()
    write_recording(tmp_path / "out" / "s.sac", rec.data * 2, like=rec)
    back = obspy.read(str(tmp_path / "out" / "s.sac"))[0]
    assert (back.id, back.stats.starttime, back.stats.sampling_rate) == (
        trace.id, trace.stats.starttime, trace.stats.sampling_rate)  # fmt: skip
    np.testing.assert_array_equal(back.data, trace.data * 2)


# --------------------------------------------------------------------------------------------
# Damaged files: one line naming the file


def _cut(path: Path, keep: int) -> Path:
    path.write_bytes(path.read_bytes()[:keep])
    return path


def _lie_edf(path: Path) -> Path:
    raw = bytearray(path.read_bytes())
    raw[236:244] = b"99      "  # the number of data records
    path.write_bytes(bytes(raw))
    return path


def _lie_sac(path: Path) -> Path:
    trace = obspy.read(str(path), headonly=True)[0]
    raw = bytearray(path.read_bytes())
    raw[79 * 4 : 80 * 4] = np.int32(trace.stats.npts * 2).tobytes()  # npts, word 79
    path.write_bytes(bytes(raw))
    return path


def _no_dat(path: Path) -> Path:
    (path.parent / "rec100.dat").unlink()
    return path


def _short_dat(path: Path) -> Path:
    _cut(path.parent / "rec100.dat", 1000)
    return path


DAMAGED = [
    ("edf header cut", lambda d: _cut(write_edf(d / "x.edf"), 300), r"truncated file"),
    ("edf data cut", lambda d: _cut(write_edf(d / "x.edf"), 5000), r"truncated or damaged"),
    ("edf lies", lambda d: _lie_edf(write_edf(d / "x.edf")), r"announces 99 data records"),
    ("bdf data cut", lambda d: _cut(write_edf(d / "x.bdf", bdf=True), 9000), r"truncated"),
    ("wfdb dat missing", lambda d: _no_dat(write_wfdb(d)), r"rec100\.dat is missing"),
    ("wfdb dat cut", lambda d: _short_dat(write_wfdb(d)), r"truncated record"),
    ("wfdb header cut", lambda d: _cut(write_wfdb(d), 20), r"unreadable \.hea file"),
    ("mseed cut", lambda d: _cut(write_mseed(d / "x.mseed"), 1300), r"not a whole number"),
    ("mseed header cut", lambda d: _cut(write_mseed(d / "x.mseed"), 40), r"unreadable \.mseed"),
    ("sac header cut", lambda d: _cut(write_sac(d / "x.sac"), 400), r"SAC header ends at byte"),
    ("sac data cut", lambda d: _cut(write_sac(d / "x.sac"), 5000), r"truncated file"),
    ("sac lies", lambda d: _lie_sac(write_sac(d / "x.sac")), r"announces 10000 samples"),
]


@pytest.mark.parametrize(("case", "make", "message"), DAMAGED, ids=[c[0] for c in DAMAGED])
def test_damaged_field_files_are_one_line_errors(
    tmp_path: Path, case: str, make, message: str
) -> None:
    path = make(tmp_path)
    for read in (describe_parts, read_recording):
        with pytest.raises(DataError, match=message) as caught:
            read(path)
        text = str(caught.value)
        assert text.startswith(str(path)) and "\n" not in text, text


def test_a_missing_library_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "edfio" else real(name, *a))  # fmt: skip
    with pytest.raises(DataError, match=r'x\.edf: reading and writing edf files needs edfio '
                       r'\(pip install "mdnc\[biosignal\]"\)'):  # fmt: skip
        format_of(Path("x.edf"))


def test_every_field_format_is_registered() -> None:
    assert {"edf", "wfdb", "seismic"} <= set(list_formats())
    assert format_of(Path("A.MSEED")).name == "seismic"


def test_field_file_dates_are_the_ones_written() -> None:
    assert START == datetime.datetime(2002, 2, 2, 13, 14, 15) and shutil.which is not None
