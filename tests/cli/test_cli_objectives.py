"""``mdnc train`` with the objectives and noise options: self-supervised, noise2noise,
SNR ranges, hum, recorded noise; bad combinations; ``mdnc denoise --weights best|last``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from mdnc.cli import main
from mdnc.training import read_toml

TINY = ["--channel", "4", "--layers", "1", "1", "--window", "128", "--batch-size", "4"]
RUN_FILES = (
    "model.safetensors",
    "best.safetensors",
    "config.json",
    "config.toml",
    "metrics.json",
    "loss.png",
    "examples.png",
)
SIGNAL_KEYS = ("snr_in_db", "snr_out_db", "si_sdr_db", "rmse", "prd", "corr")
RESIDUAL_KEYS = ("residual_whiteness", "residual_output_corr", "residual_acf")


def _mdnc(*args: str) -> int:
    """``mdnc ARGS``' exit code (argparse's errors exit through SystemExit)."""
    try:
        return main(list(args))
    except SystemExit as stop:
        return int(stop.code)


def _train(out: Path, *args: str, epochs: int = 1, quiet: bool = True) -> int:
    extra = ["--quiet"] if quiet else []
    return _mdnc("train", *args, *TINY, "--epochs", str(epochs), "--out", str(out), *extra)


def _metrics(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


def _check_run(run: Path) -> dict:
    """The run folder has its files; returns its metrics."""
    missing = [name for name in RUN_FILES if not (run / name).is_file()]
    assert not missing, missing
    for name in ("loss.png", "examples.png"):
        assert (run / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    return _metrics(run)


def _save(path: Path, x: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, x.astype(np.float32))
    return path


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    # The networks are tiny: on a busy machine, several intra-op threads spin against
    # each other and make every run many times slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """clean/, noisy/ and pair/ (two noisy copies of clean/): 4 recordings of 2 channels,
    800 samples; noise2.npy (2 channels) and noise1.npy (1 channel) of noise alone."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(7)
    t = np.arange(800) / 40.0
    for i in range(4):
        clean = np.stack([np.sin(t * (1 + 0.3 * i)), np.cos(t * (0.7 + 0.2 * i))])
        _save(root / "clean" / f"r{i}.npy", clean)
        for folder in ("noisy", "pair"):
            _save(root / folder / f"r{i}.npy", clean + 0.4 * rng.standard_normal(clean.shape))
    _save(root / "noise2.npy", rng.standard_normal((2, 2000)))
    _save(root / "noise1.npy", rng.standard_normal((1, 2000)))
    _save(root / "noise0.npy", np.stack([rng.standard_normal(2000), np.zeros(2000)]))
    return root


def _files(root: Path, folder: str, n: int = 4) -> list[str]:
    return [str(root / folder / f"r{i}.npy") for i in range(n)]


# ---------------------------------------------------------------------------------------
# Bad input: one line, exit code 2, nothing written
# ---------------------------------------------------------------------------------------

HELP = " (see mdnc train --help)"
BAD = [
    pytest.param(
        lambda d: [
            *_files(d, "noisy", 3),
            "--noisy-pair",
            *_files(d, "pair", 2),
            "--objective",
            "noise2noise",
        ],
        "--noisy/--noisy-pair: 2 recordings for 3 DATA recordings; they pair up one to one, "
        "in the same order.",
        id="noisy-pair-count",
    ),
    pytest.param(
        lambda d: [str(d / "clean"), "--snr-db", "5:2"],
        "argument --snr-db: snr_db must be a number of dB or a range LOW:HIGH with "
        "LOW <= HIGH, within [-100, 200], got '5:2'." + HELP,
        id="snr-range-reversed",
    ),
    pytest.param(
        lambda d: [str(d / "clean"), "--snr-db=-1000:0"],
        "argument --snr-db: snr_db must be a number of dB or a range LOW:HIGH with "
        "LOW <= HIGH, within [-100, 200], got '-1000:0'." + HELP,
        id="snr-overflow",
    ),
    pytest.param(
        lambda d: [str(d / "clean"), "--noise", "purple", "--snr-db", "5"],
        "argument --noise: invalid choice: 'purple' (choose from 'gaussian', 'pink', "
        "'brown', 'hum', 'impulsive')" + HELP,
        id="unknown-noise",
    ),
    pytest.param(
        lambda d: [str(d / "clean"), "--noise-files", str(d / "noise1.npy"), "--snr-db", "5"],
        "{d}/noise1.npy: has 1 channel(s), expected 2 (as {d}/clean/r0.npy)",
        id="noise-file-channels",
    ),
    pytest.param(
        lambda d: [str(d / "noisy"), "--objective", "self-supervised", "--snr-db", "5"],
        "snr_db (--snr-db) adds noise to clean recordings; the self-supervised objective "
        "trains on recordings that are noisy already: leave it out.",
        id="self-supervised-snr",
    ),
    pytest.param(
        lambda d: [str(d / "noisy"), "--objective", "noise2noise"],
        "the noise2noise objective needs a second noisy recording of every DATA recording: "
        "give them with --noisy-pair (noisy in a configuration file).",
        id="noise2noise-without-pairs",
    ),
    pytest.param(
        lambda d: [
            *_files(d, "noisy"),
            "--noisy-pair",
            *_files(d, "pair"),
            "--objective",
            "self-supervised",
        ],
        "the self-supervised objective trains on the noisy recordings alone (DATA); paired "
        "recordings (--noisy-pair) are for --objective noise2noise.",
        id="self-supervised-with-pairs",
    ),
    pytest.param(
        lambda d: [str(d / "clean"), "--noise-files", str(d / "noise2.npy")],
        "noise_files (--noise-files) are mixed into clean DATA recordings at snr_db: they "
        "need --objective supervised, DATA and --snr-db.",
        id="noise-files-without-snr",
    ),
    pytest.param(
        lambda d: [
            str(d / "clean"),
            "--noise-files",
            str(d / "noise2.npy"),
            "--noise",
            "pink",
            "--snr-db",
            "5",
        ],
        "give either a noise model (--noise) or recorded noise (--noise-files), not both.",
        id="noise-files-and-noise",
    ),
    pytest.param(
        lambda d: [str(d / "noisy"), "--objective", "self-supervised", "--mask-fraction", "0.9"],
        "mask_fraction must be a number in (0, 0.5], got 0.9.",
        id="mask-fraction",
    ),
    pytest.param(
        lambda d: [str(d / "noisy"), "--objective", "self-supervised", "--blind-spot", "0"],
        "blind_spot must be an int >= 1, got 0.",
        id="blind-spot",
    ),
    pytest.param(
        lambda d: [str(d / "noisy"), "--objective", "self-supervised", "--prior-components",
                   "-2"],
        "prior_components must be an int >= 0, got -2.",
        id="prior-components",
    ),
    pytest.param(
        lambda d: [*_files(d, "noisy"), "--noisy-pair", *_files(d, "pair"), "--objective",
                   "noise2noise", "--pair-mixing", "-1"],
        "pair_mixing must be an int >= 0, got -1.",
        id="pair-mixing",
    ),
    pytest.param(
        lambda d: [
            str(d / "noisy"),
            "--objective",
            "self-supervised",
            "--arch",
            "UNet1d",
            "--blind-spot",
            "127",
        ],
        "blind_spot / mask_fraction (127 / 0.0625: one masked run every 2032 samples) must fit "
        "in the window (128); give a smaller --blind-spot, a larger --mask-fraction or a "
        "longer --window.",
        id="masked-blind-spot-beyond-window",
    ),
    pytest.param(
        lambda d: [str(d / "noisy"), "--objective", "self-supervised", "--blind-spot", "128"],
        "blind_spot (128) must be shorter than the window (128).",
        id="blind-spot-beyond-window",
    ),
    pytest.param(
        lambda d: [str(d / "clean"), "--noise-files", str(d / "noise0.npy"), "--snr-db", "5"],
        "--noise-files: noise recordings are all zero in channel 1.",
        id="noise-file-silent-channel",
    ),
]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_input_is_a_one_line_error_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: Path, args, message: str
) -> None:
    out = tmp_path / "run"
    assert _train(out, *args(data)) == 2
    err = capsys.readouterr().err
    assert err == f"mdnc train: error: {message.format(d=data)}\n"
    assert not out.exists()


# ---------------------------------------------------------------------------------------
# Happy paths
# ---------------------------------------------------------------------------------------


def _check_residuals(metrics: dict) -> None:
    for key in ("residual_whiteness", "residual_output_corr"):
        assert np.isfinite(metrics[key]), key
    acf = metrics["residual_acf"]
    assert len(acf) == 10 and all(isinstance(v, float) for v in acf), acf


def test_self_supervised_on_noisy_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: Path
) -> None:
    out = tmp_path / "run"
    assert _train(out, str(data / "noisy"), "--objective", "self-supervised", quiet=False) == 0
    metrics = _check_run(out)
    _check_residuals(metrics)
    assert sorted(metrics["baselines"]) == ["savgol", "wiener"]
    for name, baseline in metrics["baselines"].items():
        assert baseline["params"], name
        assert "snr_out_db" not in baseline, name
    assert not [k for k in SIGNAL_KEYS if k in metrics]  # no clean truth to score against
    printed = capsys.readouterr()
    lines = [ln for ln in (printed.out + printed.err).splitlines() if ln.startswith("epoch 1/1")]
    assert len(lines) == 1 and "savgol" in lines[0] and "wiener" in lines[0], lines


@pytest.mark.parametrize("objective", ["self-supervised", "noise2noise"])
def test_synthetic_data_is_scored_against_its_clean_truth(tmp_path: Path, objective: str) -> None:
    out = tmp_path / "run"
    assert _train(out, "--synthetic", "8", "600", "--objective", objective) == 0
    metrics = _check_run(out)
    for key in SIGNAL_KEYS:
        assert np.isfinite(metrics[key]), key
    assert metrics["snr_in_db"] == pytest.approx(5.0, abs=1.5)  # the synthetic noise: 5 dB
    _check_residuals(metrics)
    assert sorted(metrics["baselines"]) == ["savgol", "wiener"]
    for name, baseline in metrics["baselines"].items():
        assert baseline["params"] and np.isfinite(baseline["snr_out_db"]), name
    assert read_toml(out / "config.toml")["train"]["objective"] == objective


def test_noise2noise_on_paired_files(tmp_path: Path, data: Path) -> None:
    out = tmp_path / "run"
    args = [*_files(data, "noisy"), "--noisy-pair", *_files(data, "pair")]
    assert _train(out, *args, "--objective", "noise2noise") == 0
    metrics = _check_run(out)
    _check_residuals(metrics)
    assert sorted(metrics["baselines"]) == ["savgol", "wiener"]
    assert "snr_out_db" not in metrics
    saved = read_toml(out / "config.toml")
    assert saved["data"]["noisy"] == _files(data, "pair")
    assert saved["train"]["objective"] == "noise2noise"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            ["--noise", "pink", "--snr-db", "0:10"],
            {"train": {"noise": "pink", "snr_db": [0.0, 10.0]}},
            id="pink-snr-range",
        ),
        pytest.param(
            ["--noise", "hum", "--hum-hz", "60", "--sample-rate", "500", "--snr-db", "5"],
            {"train": {"noise": "hum", "hum_hz": 60.0, "sample_rate": 500.0, "snr_db": 5.0}},
            id="hum",
        ),
        pytest.param(
            ["--noise-files", "{d}/noise2.npy", "--snr-db", "5"],
            {"data": {"noise_files": ["{d}/noise2.npy"]}, "train": {"snr_db": 5.0}},
            id="noise-files",
        ),
    ],
)
def test_noise_options_on_clean_files_are_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: Path, args: list[str], expected: dict
) -> None:
    monkeypatch.chdir(data)  # relative paths are saved absolute
    args = [a.format(d=".") for a in args]
    out = tmp_path / "run"
    assert _train(out, "clean", *args) == 0
    metrics = _check_run(out)
    assert np.isfinite(metrics["snr_out_db"]) and np.isfinite(metrics["snr_in_db"])
    saved = read_toml(out / "config.toml")
    assert saved["data"]["paths"] == [str(data / "clean")]
    for section, options in expected.items():
        for name, value in options.items():
            if name == "noise_files":
                value = [v.format(d=data) for v in value]
            assert saved[section][name] == value, (section, name)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["noisy", "--objective", "self-supervised"], id="self-supervised"),
        pytest.param(["clean", "--noise", "pink", "--snr-db", "0:10"], id="snr-range"),
    ],
)
def test_config_toml_repeats_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: Path, args: list[str]
) -> None:
    monkeypatch.chdir(data)
    first, second = tmp_path / "a", tmp_path / "b"
    assert _train(first, *args) == 0
    repeat = ["train", "--config", str(first / "config.toml"), "--out", str(second), "--quiet"]
    assert _mdnc(*repeat) == 0
    _check_run(second)
    assert (first / "config.toml").read_text() == (second / "config.toml").read_text()
    a, b = _metrics(first), _metrics(second)
    assert a["config"] == b["config"]
    assert [r["train_loss"] for r in a["epochs"]] == [r["train_loss"] for r in b["epochs"]]


# ---------------------------------------------------------------------------------------
# best.safetensors and mdnc denoise --weights
# ---------------------------------------------------------------------------------------


def test_denoise_uses_the_best_weights_by_default(tmp_path: Path, data: Path) -> None:
    run = tmp_path / "run"
    # A high learning rate makes the validation loss jump about, so that the lowest is
    # usually not the last epoch's.
    args = [str(data / "clean"), "--snr-db", "0", "--lr", "0.05", "--seed", "1"]
    assert _train(run, *args, epochs=3) == 0
    metrics = _check_run(run)
    losses = [row["val_loss"] for row in metrics["epochs"]]
    assert len(losses) == 3
    best = int(np.argmin(losses)) + 1
    assert metrics["best"] == {"epoch": best, "val_loss": losses[best - 1]}

    x = str(data / "noisy" / "r0.npy")
    outputs = {}
    for weights in ("default", "best", "last"):
        target = tmp_path / f"{weights}.npy"
        extra = [] if weights == "default" else ["--weights", weights]
        command = ["denoise", "--checkpoint", str(run), x, "--output", str(target), "--quiet"]
        assert _mdnc(*command, *extra) == 0
        outputs[weights] = np.load(target)
    assert outputs["default"].shape == np.load(x).shape
    np.testing.assert_array_equal(outputs["default"], outputs["best"])
    if best == 3:
        pytest.skip("the lowest validation loss is the last epoch's: best and last are one")
    assert not np.array_equal(outputs["best"], outputs["last"])


def test_out_on_a_file_and_denoise_onto_its_input_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: Path
) -> None:
    victim = _save(tmp_path / "victim.npy", np.ones((2, 600)))
    before = victim.read_bytes()
    assert _train(victim, str(data / "clean"), "--snr-db", "5") == 2
    assert capsys.readouterr().err == (
        f"mdnc train: error: --out {victim}: a file is there; give a folder for the run.\n"
    )
    run = tmp_path / "run"
    assert _train(run, str(data / "clean"), "--snr-db", "5") == 0
    capsys.readouterr()
    assert _mdnc("denoise", "--checkpoint", str(run), str(victim), "--output", str(victim)) == 2
    assert capsys.readouterr().err == (
        f"mdnc denoise: error: --output {victim} would overwrite the input {victim}; denoise "
        "never writes over its inputs: give another output path.\n"
    )
    assert victim.read_bytes() == before


@pytest.mark.parametrize("components", ["0", "3"])
def test_self_supervised_windows_of_two_samples_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], components: str
) -> None:
    """Either network needs second differences of a window for its noise estimate: a
    window of 2 samples is a one-line error before training, and nothing is written."""
    out = tmp_path / "run"
    code = _mdnc("train", "--synthetic", "4", "300", "--objective", "self-supervised",
                 "--prior-components", components, "--window", "2", "--channel", "4",
                 "--layers", "1", "1", "--epochs", "1", "--quiet", "--out", str(out))  # fmt: skip
    assert code == 2 and not out.exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["mdnc train: error: window (2) must be at least 3 samples for the "
                   "self-supervised objective: its noise estimate uses second differences."]
