"""Property tests of the fields' readers (EDF/BDF, WFDB, miniSEED, SAC): random bytes and
valid files damaged (cut, bytes flipped, bytes appended) are either read as a finite
float32 recording or refused by a :class:`DataError` of one line starting with the file
name, through the description, the whole read and the span reads alike."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from mdnc.data import DataError, LazyRecording
from mdnc.data.index import describe_parts
from tests.conftest import property_settings
from tests.data.field_files import write_edf, write_mseed, write_sac, write_wfdb
from tests.data.test_properties_readers import DAMAGE, _damage, _read

pytest.importorskip("edfio")
pytest.importorskip("wfdb")
pytest.importorskip("obspy")

SETTINGS = property_settings(30, HealthCheck.function_scoped_fixture, HealthCheck.too_slow)
SUFFIXES = (".edf", ".bdf", ".hea", ".mseed", ".sac")


@pytest.fixture(scope="module")
def valid(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One small valid file of each field format (a WFDB record: its header and .dat)."""
    folder = tmp_path_factory.mktemp("valid")
    return {
        ".edf": write_edf(folder / "v.edf", seconds=2),
        ".bdf": write_edf(folder / "v.bdf", channels=2, seconds=2, bdf=True),
        ".hea": write_wfdb(folder, seconds=1),
        ".mseed": write_mseed(folder / "v.mseed", n=800),
        ".sac": write_sac(folder / "v.sac", n=300),
    }


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzzed")


def _spans(path: Path) -> None:
    """Every part described, then read in spans: finite float32 or a one-line DataError."""
    try:
        parts = describe_parts(path)
        for info in parts:
            lazy = LazyRecording(info)
            for a, b in ((0, info.length), (info.length // 3, info.length)):
                block = lazy.read(a, b)
                assert block.dtype == np.float32 and np.isfinite(block).all()
    except DataError as err:
        text = str(err)
        assert text.startswith(str(path)) and "\n" not in text, text


@SETTINGS
@given(suffix=st.sampled_from(SUFFIXES), payload=st.binary(max_size=1200))
def test_random_bytes_are_a_data_error(folder: Path, suffix: str, payload: bytes) -> None:
    path = folder / f"random{suffix}"
    path.write_bytes(payload)
    _read(path)
    _spans(path)


@SETTINGS
@given(suffix=st.sampled_from(SUFFIXES), how=DAMAGE, dat=st.booleans())
def test_damaged_field_files_are_read_or_a_data_error(
    folder: Path, valid: dict[str, Path], suffix: str, how: tuple, dat: bool
) -> None:
    source = valid[suffix]
    path = folder / f"damaged{suffix}"
    if suffix == ".hea":  # damage the header, or its signal file
        path = folder / "rec100.hea"
        shutil.copy(source, path)
        shutil.copy(source.with_suffix(".dat"), folder / "rec100.dat")
        target = folder / "rec100.dat" if dat else path
        target.write_bytes(_damage(target.read_bytes(), how))
    else:
        path.write_bytes(_damage(source.read_bytes(), how))
    _read(path)
    _spans(path)
