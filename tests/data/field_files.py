"""Recordings in their fields' formats, written by the fields' own libraries (edfio, wfdb,
obspy), with headers worth keeping: labels, units, start times, patient fields, codes."""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pytest

EDF_RATE, WFDB_RATE, SEISMIC_RATE = 256, 360, 100.0
START = datetime.datetime(2002, 2, 2, 13, 14, 15)


def _wave(n: int, rate: float, channel: int) -> np.ndarray:
    t = np.arange(n) / rate
    rng = np.random.default_rng(channel)
    return np.sin(2 * np.pi * (1.5 + channel) * t) + 0.3 * rng.standard_normal(n)


def write_edf(path: Path, channels: int = 3, seconds: int = 8, bdf: bool = False) -> Path:
    edfio = pytest.importorskip("edfio")
    signal, container = (edfio.BdfSignal, edfio.Bdf) if bdf else (edfio.EdfSignal, edfio.Edf)
    signals = [
        signal(50 * _wave(EDF_RATE * seconds, EDF_RATE, c), EDF_RATE, label=f"EEG C{c}",
               physical_dimension="uV", physical_range=(-500, 500))
        for c in range(channels)
    ]  # fmt: skip
    edf = container(
        signals,
        patient=edfio.Patient(code="MCH-0234567", sex="F", birthdate=datetime.date(1951, 5, 2),
                              name="Haagse_Harry"),
        recording=edfio.Recording(startdate=START.date(), hospital_administration_code="EMR",
                                  investigator_technician_code="LK", equipment_code="Nihon"),
        starttime=START.time(),
    )  # fmt: skip
    edf.write(path)
    return path


def read_edf(path: Path):
    edfio = pytest.importorskip("edfio")
    return (edfio.read_bdf if path.suffix == ".bdf" else edfio.read_edf)(path)


def write_wfdb(folder: Path, name: str = "rec100", seconds: int = 6, fmt: str = "212") -> Path:
    wfdb = pytest.importorskip("wfdb")
    n = WFDB_RATE * seconds
    p = np.stack([_wave(n, WFDB_RATE, c) for c in range(2)], axis=1)
    wfdb.wrsamp(
        name, fs=WFDB_RATE, units=["mV", "mV"], sig_name=["MLII", "V5"], p_signal=p,
        fmt=[fmt, fmt], adc_gain=[200, 200], baseline=[0, 0], comments=["age: 69 sex: M"],
        base_time=START.time(), base_date=START.date(), write_dir=str(folder),
    )  # fmt: skip
    return folder / f"{name}.hea"


def _trace(channel: str, n: int, start, dtype, seed: int):
    obspy = pytest.importorskip("obspy")
    data = 1000 * _wave(n, SEISMIC_RATE, seed)
    header = {"network": "IU", "station": "ANMO", "location": "00", "channel": channel,
              "sampling_rate": SEISMIC_RATE, "starttime": start}  # fmt: skip
    return obspy.Trace(data.astype(dtype), header=header)


def write_mseed(path: Path, n: int = 6000, gap: bool = False) -> Path:
    obspy = pytest.importorskip("obspy")
    start = obspy.UTCDateTime(2020, 1, 2, 3, 4, 5, 123456)
    traces = [_trace(f"BH{c}", n, start, np.int32, i) for i, c in enumerate("ZNE")]
    if gap:  # a second segment of BHZ, 10 s after the first ends
        traces.append(_trace("BHZ", n // 2, start + n / SEISMIC_RATE + 10, np.int32, 7))
    obspy.Stream(traces).write(str(path), format="MSEED", encoding="STEIM2", reclen=512)
    return path


def write_sac(path: Path, n: int = 5000) -> Path:
    obspy = pytest.importorskip("obspy")
    start = obspy.UTCDateTime(2021, 6, 1, 12, 0, 0)
    _trace("HHZ", n, start, np.float32, 3).write(str(path), format="SAC")
    return path


def field_folder(folder: Path) -> Path:
    """The done-when folder: an EDF (3 channels), a BDF, a WFDB record (2 channels), a
    miniSEED file (3 traces) and a SAC file."""
    folder.mkdir(parents=True, exist_ok=True)
    write_edf(folder / "eeg.edf")
    write_edf(folder / "eeg24.bdf", channels=2, bdf=True)
    write_wfdb(folder)
    write_mseed(folder / "quake.mseed")
    write_sac(folder / "station.sac")
    return folder
