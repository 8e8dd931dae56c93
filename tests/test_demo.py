"""The demo (``make demo``) runs both acts end to end (tiny options here)."""

from __future__ import annotations

import json

from mdnc.examples import demo

TINY = ["--synthetic", "10", "800", "--channel", "4", "--layers", "1", "1", "--window", "128",
        "--batch-size", "4", "--epochs", "1", "--quiet"]  # fmt: skip


def test_demo_runs_both_acts(tmp_path) -> None:
    results = demo.run(tmp_path / "demo", TINY)
    assert list(results) == ["supervised", "self-supervised"]
    for name, folder in (("supervised", "demo"), ("self-supervised", "demo/self-supervised")):
        saved = json.loads((tmp_path / folder / "heldout" / "snr.json").read_text())
        assert saved == results[name]
        assert abs(saved["snr_in_db"] - demo.SNR_DB) < 0.2
        assert {"savgol_db", "wiener_db"} <= set(saved)
    # The self-supervised run never saw clean data: its options say so.
    toml = (tmp_path / "demo" / "self-supervised" / "config.toml").read_text()
    assert 'objective = "self-supervised"' in toml and "snr_db" not in toml.split("[train]")[1]
    lines = demo.summary(results, tmp_path / "demo").splitlines()
    assert lines[0].startswith("supervised: held-out recording: SNR ")
    assert lines[1].startswith("self-supervised: held-out recording: SNR ")
    assert "savgol" in lines[1] and "wiener" in lines[1]
