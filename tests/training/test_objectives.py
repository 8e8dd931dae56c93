"""The objectives without clean data: blind-spot masking, self-supervised and noise2noise
training, the best checkpoint, and the options that go with them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from mdnc.checkpoint import BEST_NAME, load_checkpoint
from mdnc.data import get_noise_model, make_synthetic, snr_db
from mdnc.modules.resnet import UNet1d
from mdnc.training import (
    ConfigError,
    SelfSupervisedOptions,
    SplitData,
    TrainConfig,
    Trainer,
    blind_spot_mask,
    get_objective,
    train,
)
from mdnc.training.config import parse_snr
from mdnc.training.objectives import pair_difference_whiteness, recombine_pairs
from mdnc.training.report import summary_line

TINY = dict(channel=4, layers=[1, 1], window=128, batch_size=4)


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize(
    ("shape", "fraction", "width", "masked"),
    [((2, 1, 64), 1 / 16, 1, 4), ((3, 2, 100), 1 / 8, 1, 12), ((2, 1, 96), 1 / 8, 3, 12),
     ((1, 1, 10), 0.5, 1, 5), ((4, 3, 256), 1 / 4, 2, 64)],
)  # fmt: skip
def test_mask_hides_the_stated_fraction_in_runs(shape, fraction, width, masked) -> None:
    x = torch.randn(shape)
    out, mask = blind_spot_mask(x, fraction, width, generator=_generator())
    assert out.shape == mask.shape == x.shape
    per_window = mask[:, 0].sum(dim=-1)
    assert per_window.tolist() == [masked] * shape[0]
    assert torch.equal(mask, mask[:, :1].expand_as(mask))  # all channels at once
    assert torch.equal(out[mask == 0], x[mask == 0])  # the rest untouched
    for row in mask[:, 0]:  # runs of exactly ``width`` samples
        edges = torch.diff(torch.cat([torch.zeros(1), row, torch.zeros(1)]))
        starts, ends = (edges == 1).nonzero().flatten(), (edges == -1).nonzero().flatten()
        assert set((ends - starts).tolist()) <= {width, 2 * width, 3 * width}


@pytest.mark.parametrize("width", [1, 2, 4])
def test_the_blind_spot_is_real(width: int) -> None:
    """The network's output at a masked sample does not depend on that sample's input
    (nor on the rest of its run), while it does depend on the unmasked neighbours."""
    torch.manual_seed(0)
    net = UNet1d(8, [1, 1], in_planes=2, out_planes=2).eval()
    x = torch.randn(2, 2, 128, requires_grad=True)
    masked, mask = blind_spot_mask(x, 1 / 8, width, radius=3, generator=_generator(1))
    y = net(masked)
    hidden = mask[:, 0].nonzero().tolist()
    for b, p in hidden[:: max(1, len(hidden) // 12)]:
        (grad,) = torch.autograd.grad(y[b, :, p].sum(), x, retain_graph=True)
        run = mask[b, 0].nonzero().flatten()
        run = run[(run - p).abs() < width]  # the samples of p's run
        assert torch.all(grad[b, :, run] == 0), (b, p)
        near = [q for q in range(max(0, p - 6), min(128, p + 7)) if mask[b, 0, q] == 0]
        assert grad[b, :, near].abs().sum() > 0  # the receptive field is not empty


def test_mask_rejects_too_short_windows() -> None:
    with pytest.raises(ValueError, match="windows of 2 samples are too short for a blind spot"):
        blind_spot_mask(torch.zeros(1, 1, 2), 0.5, 2)


@pytest.mark.parametrize(
    ("value", "parsed"),
    [("5", 5.0), ("-3.5", -3.5), ("0:10", [0.0, 10.0]), ("5:5", [5.0, 5.0]), ([2, 8.5], [2.0, 8.5]),
     (7, 7.0)],
)  # fmt: skip
def test_parse_snr(value, parsed) -> None:
    assert parse_snr(value) == parsed


@pytest.mark.parametrize("value", ["5:2", "a", "1:2:3", "nan", [1], "", "inf:5", True])
def test_parse_snr_rejects(value) -> None:
    with pytest.raises(ValueError, match=r"^snr_db must be a number of dB or a range LOW:HIGH"):
        parse_snr(value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"blind_spot": 0}, "blind_spot must be an int >= 1, got 0."),
     ({"mask_fraction": 0.75}, "mask_fraction must be a number in (0, 0.5], got 0.75."),
     ({"mask_radius": 0}, "mask_radius must be an int >= 1, got 0."),
     ({"prior_components": -1}, "prior_components must be an int >= 0, got -1."),
     ({"prior_components": 2.5}, "prior_components must be an int >= 0, got 2.5 (float)."),
     ({"hum_hz": -50}, "hum_hz must be a number > 0, got -50."),
     ({"snr_db": "5:2"}, "snr_db must be a number of dB or a range LOW:HIGH with LOW <= HIGH, "
      "within [-100, 200], got '5:2'.")],
)  # fmt: skip
def test_new_options_are_checked(kwargs, message) -> None:
    """Options of the run and of its objective, given flat (as in TOML and on the command
    line)."""
    with pytest.raises(ConfigError) as err:
        TrainConfig.from_flat({"objective": "self-supervised", **kwargs})
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("objective", "kwargs", "paired", "message"),
    [("self-supervised", {"snr_db": 5.0}, False, "snr_db (--snr-db) adds noise"),
     ("noise2noise", {"snr_db": 5.0}, True, "snr_db (--snr-db) adds noise"),
     ("noise2noise", {}, False, "needs a second noisy recording"),
     ("self-supervised", {}, True, "trains on the noisy recordings alone")],
)  # fmt: skip
def test_objectives_refuse_data_they_cannot_use(objective, kwargs, paired, message) -> None:
    config = TrainConfig(objective=objective, **kwargs)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        get_objective(config).check(SplitData([], [], [] if paired else None))


def test_hum_options_reach_the_noise_model() -> None:
    objective = get_objective(TrainConfig(noise="hum", hum_hz=60, sample_rate=500))
    assert (objective.noise.hum_hz, objective.noise.sample_rate) == (60.0, 500.0)
    assert TrainConfig(noise="pink", hum_hz=60).noise_params() == {}


def _noisy(clean, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [get_noise_model("gaussian").add(c, 5.0, rng) for c in clean]


@pytest.mark.parametrize("arch", ["BlindSpotNet1d", "UNet1d"])
def test_self_supervised_trains_from_noisy_recordings_only(tmp_path, arch: str) -> None:
    """The blind-spot network (the default) and masking of an ordinary network both learn
    from noisy recordings alone."""
    clean = make_synthetic(8, 1000, seed=2)
    noisy = _noisy(clean, 1)
    config = TrainConfig(objective="self-supervised", arch=arch, epochs=3, **TINY,
                         objective_options={"mask_fraction": 0.25})  # fmt: skip
    metrics = train(config, noisy, tmp_path / "run", progress=False, truth=clean)
    rows = metrics["epochs"]
    assert all(np.isfinite(r["train_loss"]) and np.isfinite(r["val_loss"]) for r in rows)
    assert metrics["snr_out_db"] > metrics["snr_in_db"] + 1.0  # learns from noisy data alone
    assert set(metrics["baselines"]) == {"savgol", "wiener"}
    assert (tmp_path / "run" / BEST_NAME).is_file()
    model, _ = load_checkpoint(tmp_path / "run")
    assert type(model).__name__ == arch


def test_the_default_network_follows_the_objective(tmp_path) -> None:
    assert TrainConfig().arch is None
    ours = TrainConfig(
        objective="self-supervised", objective_options={"blind_spot": 3}, **TINY
    ).model_config(2)
    assert ours["class"] == "BlindSpotNet1d" and ours["module"] == "mdnc.modules.blindspot"
    k = SelfSupervisedOptions().prior_components
    assert k >= 1  # the default predicts a distribution (benchmarks/RESULTS.md)
    assert ours["kwargs"] == {"channel": 4, "layers": [1, 1], "blind_spot": 3, "components": k,
                              "kernel_size": 3, "in_planes": 2, "out_planes": 2}  # fmt: skip
    point = TrainConfig(
        objective="self-supervised", objective_options={"prior_components": 0}, **TINY
    ).model_config(1)
    assert "components" not in point["kwargs"]  # the recipe of runs before the option
    # Only the self-supervised objective trains a distribution by its likelihood; the others
    # train a blind-spot network's one value with their squared error.
    for objective in ("supervised", "noise2noise"):
        other = TrainConfig(objective=objective, arch="BlindSpotNet1d").model_config(1)
        assert "components" not in other["kwargs"], objective
    assert TrainConfig(**TINY).model_config(1)["class"] == "UNet1d"
    assert TrainConfig(objective="noise2noise").model_config(1)["class"] == "UNet1d"
    noisy = _noisy(make_synthetic(4, 600, seed=3), 2)
    trainer = Trainer(TrainConfig(objective="self-supervised", epochs=1, **TINY), noisy,
                      tmp_path / "run", progress=False)  # fmt: skip
    trainer.setup()
    assert trainer.config.arch == "BlindSpotNet1d" and trainer.objective.blind
    trainer.write_options()  # written with the first checkpoint
    trainer.close()
    toml = (tmp_path / "run" / "config.toml").read_text()
    assert "# arch is unset: the objective's network, BlindSpotNet1d here." in toml


def test_blind_spot_batches_are_whole_windows_with_random_sign_and_direction() -> None:
    objective = get_objective(TrainConfig(objective="self-supervised", **TINY))
    x = torch.randn(200, 1, 16)
    batch = objective.batch([x, x], torch.device("cpu"), _generator())
    assert batch.weight is None and batch.input is batch.target  # every sample in the loss
    kinds = [next(i for i, f in enumerate((lambda v: v, lambda v: -v, lambda v: v.flip(-1),
                                           lambda v: -v.flip(-1))) if torch.equal(f(a), b))
             for a, b in zip(x, batch.input, strict=True)]  # fmt: skip
    assert all(30 < kinds.count(k) < 70 for k in range(4))  # each of the four, about 1/4
    masking = get_objective(TrainConfig(objective="self-supervised", arch="UNet1d", **TINY))
    assert not masking.blind and masking.batch([x, x], torch.device("cpu")).weight is not None


def test_validation_masks_are_the_same_every_epoch(tmp_path) -> None:
    noisy = _noisy(make_synthetic(4, 600, seed=3), 2)
    config = TrainConfig(objective="self-supervised", epochs=1, **TINY)
    trainer = Trainer(config, noisy, tmp_path / "run", progress=False)
    trainer.setup()
    assert trainer._window_loss() == trainer._window_loss()


def test_noise2noise_swaps_pairs_and_learns(tmp_path) -> None:
    clean = make_synthetic(8, 1000, seed=4)
    a, b = _noisy(clean, 1), _noisy(clean, 2)
    config = TrainConfig(objective="noise2noise", epochs=3, **TINY)
    trainer = Trainer(config, a, tmp_path / "run", noisy=b, truth=clean, progress=False)
    metrics = trainer.fit()
    assert metrics["snr_out_db"] > metrics["snr_in_db"] + 1.0
    x, y = torch.randn(64, 1, 16), torch.randn(64, 1, 16)
    batch = trainer.objective.batch([x, y], torch.device("cpu"), _generator())
    transforms = (lambda v: v, lambda v: -v, lambda v: v.flip(-1), lambda v: -v.flip(-1))
    orders, kinds = [], []
    for i in range(64):  # one transform for both windows of a pair, in either order
        (k, swapped), = [(k, s) for k, f in enumerate(transforms) for s in (False, True)
                         if torch.equal(batch.input[i], f(y[i] if s else x[i]))
                         and torch.equal(batch.target[i], f(x[i] if s else y[i]))]  # fmt: skip
        orders.append(swapped)
        kinds.append(k)
    assert 10 < sum(orders) < 54  # both orders occur
    assert all(5 < kinds.count(k) < 30 for k in range(4))


def test_noise2noise_comes_close_to_supervised(tmp_path) -> None:
    """On small synthetic data, pairs of noisy recordings train about as well as clean
    targets (the full-size figure is in benchmarks/RESULTS.md)."""
    clean = make_synthetic(20, 1000, seed=5)
    base = TrainConfig(epochs=8, seed=1, **TINY)
    a, b = _noisy(clean, 1), _noisy(clean, 2)
    n2n = train(dataclasses.replace(base, objective="noise2noise"), a, tmp_path / "n2n",
                noisy=b, truth=clean, progress=False)  # fmt: skip
    sup = train(base, clean, tmp_path / "sup", noisy=a, progress=False)
    assert n2n["snr_in_db"] == pytest.approx(sup["snr_in_db"])  # the same held-out inputs
    assert n2n["snr_out_db"] > sup["snr_out_db"] - 0.5


def test_best_checkpoint_is_the_lowest_validation_loss(tmp_path, monkeypatch) -> None:
    losses = iter([3.0, 1.0, 2.0])
    saved = {}
    original_validate, original_save = Trainer.validate, Trainer.save

    def validate(self):
        row, outputs = original_validate(self)
        row["val_loss"] = next(losses)
        return row, outputs

    def save(self):
        original_save(self)
        saved[self.history[-1]["epoch"]] = {
            k: v.clone() for k, v in self.model.state_dict().items()
        }

    monkeypatch.setattr(Trainer, "validate", validate)
    monkeypatch.setattr(Trainer, "save", save)
    config = TrainConfig(epochs=3, snr_db=5.0, **TINY)
    metrics = train(config, make_synthetic(4, 600, seed=6), tmp_path / "run", progress=False)
    assert metrics["best"] == {"epoch": 2, "val_loss": 1.0}
    best, config_json = load_checkpoint(tmp_path / "run", weights="best")
    last, _ = load_checkpoint(tmp_path / "run")
    assert config_json["extra"]["best"] == {"epoch": 2, "val_loss": 1.0}
    for key, value in best.state_dict().items():
        assert torch.equal(value, saved[2][key])
        assert torch.equal(last.state_dict()[key], saved[3][key])
    assert any(not torch.equal(saved[2][k], saved[3][k]) for k in saved[2])


def test_pink_noise_range_and_evaluation_inputs(tmp_path) -> None:
    clean = make_synthetic(6, 800, seed=7)
    config = TrainConfig(noise="pink", snr_db=[0.0, 10.0], epochs=1, **TINY)
    trainer = Trainer(config, clean, tmp_path / "run", progress=False)
    trainer.setup()
    snrs = [snr_db(c, x) for c, x in zip(trainer.references, trainer.val_inputs, strict=True)]
    assert all(-1.5 < s < 11.5 for s in snrs)
    windows = [snr_db(t.numpy(), x.numpy()) for x, t in (trainer.dataset[i] for i in range(40))]
    assert min(windows) < 4 and max(windows) > 6  # drawn per window across the range


@pytest.mark.parametrize("blind_spot", [1, 3])
def test_validation_sets_the_blend_of_the_blind_spot_network(tmp_path, blind_spot) -> None:
    """With a point prediction (``prior_components=0``) each epoch's blend is estimated on
    the held-out windows with the blind output, is in the epoch's metrics and in its
    checkpoints; a wider blind spot (correlated noise) keeps the output blind."""
    noisy = _noisy(make_synthetic(8, 1000, seed=6), 3)
    options = {"blind_spot": blind_spot, "prior_components": 0}
    config = TrainConfig(objective="self-supervised", epochs=2, **TINY, objective_options=options)
    trainer = Trainer(config, noisy, tmp_path / "run", progress=False)
    metrics = trainer.fit()
    rows = metrics["epochs"]
    if blind_spot == 3:
        assert all("blend" not in r for r in rows)
        assert float(load_checkpoint(tmp_path / "run")[0].blend) == 0.0
        return
    assert all(0.0 <= r["blend"] <= 0.5 for r in rows)
    assert f"  blend {rows[-1]['blend']:.3f}  " in summary_line(rows[-1], 2)
    best = load_checkpoint(tmp_path / "run", weights="best")[0]
    last = load_checkpoint(tmp_path / "run", weights="last")[0]
    assert float(last.blend) == pytest.approx(rows[-1]["blend"])
    assert float(best.blend) == pytest.approx(rows[metrics["best"]["epoch"] - 1]["blend"])
    # The validation loss is the blind one, whatever the blend left by the last epoch.
    trainer.model.set_blend(0.5)
    trainer.objective.begin_validation(trainer.model)
    assert float(trainer.model.blend) == 0.0


def test_a_predicted_distribution_is_trained_and_validated_by_its_likelihood(tmp_path) -> None:
    """The default blind-spot network predicts a distribution: the training and validation
    losses are the negative log-likelihood of the noisy windows under it (the blind output,
    whatever the evaluation mode gives), no blend is set, and the held-out recordings are
    denoised by the posterior mean."""
    from mdnc.modules.blindspot import mixture_nll, noise_variance

    clean = make_synthetic(8, 1000, seed=2)
    noisy = _noisy(clean, 1)
    config = TrainConfig(
        objective="self-supervised", epochs=3, objective_options={"prior_components": 2}, **TINY
    )
    trainer = Trainer(config, noisy, tmp_path / "run", truth=clean, progress=False)
    metrics = trainer.fit()
    rows = metrics["epochs"]
    assert all("blend" not in r for r in rows) and metrics["snr_out_db"] > metrics["snr_in_db"] + 1
    model = trainer.model
    assert model.components == 2
    assert not model.blind_output  # back to the posterior mean after validation
    from mdnc.training.report import loss_name

    assert loss_name(config) == "negative log-likelihood"  # loss.png's axis
    assert loss_name(config.with_options(prior_components=0)) == "MSE (standardised)"
    assert loss_name(TrainConfig()) == "MSE (standardised)"
    windows = torch.stack([trainer.val_windows[i][1] for i in range(len(trainer.val_windows))])
    model.eval()
    with torch.no_grad():
        params = model.train()(windows)
        expected = float(mixture_nll(params, windows, noise_variance(windows)).mean())
    # The validation loss of the last epoch, recomputed by hand (each window in both
    # directions and signs: the batch draws are random, the likelihood is not).
    assert trainer._window_loss() == pytest.approx(expected, rel=0.05)
    assert rows[-1]["val_loss"] == pytest.approx(trainer._window_loss(), rel=1e-6)
    objective = trainer.objective
    batch = objective.batch([windows, windows], torch.device("cpu"), _generator())
    assert float(objective.loss(params, dataclasses.replace(batch, target=windows))) == \
        pytest.approx(expected, rel=1e-5)  # fmt: skip


def test_a_failed_validation_loss_leaves_the_network_denoising(tmp_path, monkeypatch) -> None:
    """The blind output is for the validation loss only: if computing it fails, the
    network still gives its denoised output afterwards."""
    noisy = _noisy(make_synthetic(4, 600, seed=3), 2)
    config = TrainConfig(objective="self-supervised", epochs=1, **TINY)
    trainer = Trainer(config, noisy, tmp_path / "run", progress=False)
    trainer.setup()

    def fail() -> float:
        assert trainer.model.blind_output
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer, "_window_loss", fail)
    with pytest.raises(KeyboardInterrupt):
        trainer.validate()
    assert not trainer.model.blind_output
    x = torch.randn(2, 1, 128)
    with torch.no_grad():
        assert trainer.model.eval()(x).shape == x.shape
    trainer.close()


@pytest.mark.parametrize("run", [1, 3, 7])
def test_recombined_pairs_take_every_sample_from_one_copy_each(run: int) -> None:
    a, b = torch.randn(32, 2, 50), torch.randn(32, 2, 50)
    x, y = recombine_pairs(a, b, run, _generator(run))
    from_b = x == b
    assert torch.equal(torch.where(from_b, a, b), y)  # the other copy, sample by sample
    assert torch.equal(torch.where(from_b, b, a), x)
    assert torch.equal(from_b[:, 0], from_b[:, 1])  # the same for every channel
    starts = from_b[..., ::run]
    assert torch.equal(starts.repeat_interleave(run, -1)[..., :50], from_b)  # runs of `run`
    assert 0.35 < from_b.float().mean() < 0.65
    assert recombine_pairs(a, b, 0) == (a, b)


def _pairs(noise: str, seed: int = 0) -> SplitData:
    clean = make_synthetic(6, 2000, seed=seed)
    rng = np.random.default_rng(seed)
    model = get_noise_model(noise)
    a = [model.add(c, 5.0, rng).astype(np.float32) for c in clean]
    b = [model.add(c, 5.0, rng).astype(np.float32) for c in clean]
    return SplitData(train=a, held_out=[], train_noisy=b)


@pytest.mark.parametrize(("noise", "mixing"), [("gaussian", 1), ("pink", 0), ("brown", 0)])
def test_noise2noise_recombines_pairs_only_when_their_noise_is_white(noise, mixing) -> None:
    data = _pairs(noise)
    whiteness = pair_difference_whiteness(data, 128)
    assert (whiteness < 0.05) if mixing else (whiteness > 0.3)
    objective = get_objective(TrainConfig(objective="noise2noise", window=128))
    assert objective.settle(data) == {"pair_mixing": mixing}
    assert objective.options.pair_mixing == mixing
    given = get_objective(
        TrainConfig(objective="noise2noise", window=128, objective_options={"pair_mixing": 5})
    )
    assert given.settle(data) == {} and given.options.pair_mixing == 5


def test_the_whiteness_of_pairs_is_their_difference_autocorrelation() -> None:
    """Against the autocorrelation written out (not centred, lags up to the window): a
    pair whose difference is a decaying sine plus an offset, one recording of one window;
    and one per channel, the largest counting."""
    t = np.arange(64)
    a = (np.sin(2 * np.pi * t / 8) * 0.97**t + 0.1)[None].astype(np.float32)
    data = SplitData(train=[np.zeros_like(a)], held_out=[], train_noisy=[a])
    d = a[0].astype(np.float64)
    acf = [np.sum(d[:-k] * d[k:]) / np.sum(d * d) for k in range(1, 64)]
    assert pair_difference_whiteness(data, 64) == pytest.approx(max(map(abs, acf)))
    assert pair_difference_whiteness(data, 64, lags=3) == pytest.approx(max(map(abs, acf[:3])))
    two = np.concatenate([np.random.default_rng(0).standard_normal((1, 64)), a]).astype(np.float32)
    paired = SplitData(train=[np.zeros_like(two)], held_out=[], train_noisy=[two])
    assert pair_difference_whiteness(paired, 64) == pytest.approx(max(map(abs, acf)))
    one = SplitData(train=[a[:, 1:2]], held_out=[], train_noisy=[a[:, :1]])
    assert pair_difference_whiteness(one, 1) == 1.0  # no lag to check


def _white(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def _brown_last(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    noise = _white(shape, rng)
    noise[-1] = np.cumsum(noise[-1]) / 30
    return noise


def _echo(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    noise = _white((shape[0], shape[1] + 50), rng)
    return noise[:, 50:] + 0.9 * noise[:, :-50]


@pytest.mark.parametrize(
    ("noise", "mixing"),
    [
        pytest.param(_white, 1, id="white"),
        pytest.param(_brown_last, 0, id="one-brown-channel-of-four"),
        pytest.param(lambda shape, rng: 0.5 + _white(shape, rng), 0, id="an-offset"),
        pytest.param(_echo, 0, id="an-echo-at-lag-50"),
    ],
)
def test_noise_correlated_in_one_channel_or_at_long_lags_is_not_white(noise, mixing) -> None:
    rng = np.random.default_rng(0)
    first = [_white((4, 3000), rng) for _ in range(4)]
    second = [a + noise(a.shape, rng) for a in first]
    data = SplitData(train=first, held_out=[], train_noisy=second)
    objective = get_objective(TrainConfig(objective="noise2noise", window=256))
    assert objective.settle(data) == {"pair_mixing": mixing}
    whiteness = pair_difference_whiteness(data, 256)
    assert whiteness < 0.05 if mixing else whiteness > 0.2


@pytest.mark.parametrize(
    "copy",
    [
        pytest.param(lambda a: a.copy(), id="identical"),
        pytest.param(lambda a: a + 1.0, id="offset"),
        pytest.param(lambda a: -2.0 * a + 0.5, id="gain-and-sign"),
        pytest.param(lambda a: a + 1e-5 * np.sin(np.arange(a.shape[-1])), id="near-identical"),
    ],
)
def test_copies_without_noise_of_their_own_are_refused(copy) -> None:
    rng = np.random.default_rng(0)
    first = [_white((2, 500), rng) for _ in range(3)]
    second = [a + _white(a.shape, rng) for a in first]
    second[1] = np.stack([second[1][0], copy(first[1][1])]).astype(np.float32)  # one channel
    flat = np.zeros((1, 500), np.float32)  # a flat channel in both copies carries nothing
    first, second = (
        [np.concatenate([a, flat]) for a in first],
        [np.concatenate([b, flat]) for b in second],
    )
    names = ["a.npy", "b.npy", "c.npy"]
    for pair_mixing in (None, 0):
        config = TrainConfig(
            objective="noise2noise", window=128, objective_options={"pair_mixing": pair_mixing}
        )
        data = SplitData(train=first, held_out=[], train_noisy=second, train_names=names)
        message = (
            r"^noise2noise: b.npy and its --noisy-pair recording are the same up to an offset "
            r"and a gain in channel\(s\) \[1\]; the two copies of a pair need independent "
            r"noise.$"
        )
        with pytest.raises(ConfigError, match=message):
            get_objective(config).check(data)
    second[1] = first[1] + _white(first[1].shape, rng) * 1e-2  # 40 dB: noise of its own
    get_objective(TrainConfig(objective="noise2noise")).check(
        SplitData(train=first, held_out=[], train_noisy=second)
    )


def test_recombining_runs_longer_than_the_window_swaps_whole_windows() -> None:
    a, b = torch.zeros(4, 1, 8), torch.ones(4, 1, 8)
    x, y = recombine_pairs(a, b, 2**62, _generator())
    assert all(torch.equal(w, a[0]) or torch.equal(w, b[0]) for w in x)
    assert torch.equal(x + y, a + b)


def test_noise2noise_training_batches_recombine_and_validation_batches_do_not() -> None:
    objective = get_objective(
        TrainConfig(objective="noise2noise", objective_options={"pair_mixing": 1})
    )
    x, y = torch.randn(16, 1, 64), torch.randn(16, 1, 64)
    torch.manual_seed(3)
    batch = objective.training_batch([x, y], torch.device("cpu"))
    # Each window: one sign and direction for the pair, then every sample from one copy.
    transforms = (lambda v: v, lambda v: -v, lambda v: v.flip(-1), lambda v: -v.flip(-1))
    for i in range(16):
        fits = [f for f in transforms
                if torch.equal(batch.input[i] + batch.target[i], f(x[i] + y[i]))]  # fmt: skip
        assert fits
        u, v = fits[0](x[i]), fits[0](y[i])
        assert bool(((batch.input[i] == u) | (batch.input[i] == v)).all())
        assert 0 < int((batch.input[i] == u).sum()) < 64  # mixed within the window
    whole = objective.batch([x, y], torch.device("cpu"), _generator())
    for i in range(16):
        assert any(torch.equal(whole.input[i], f(w[i])) for f in transforms for w in (x, y))


def test_a_noise2noise_run_notes_its_pair_mixing(tmp_path) -> None:
    clean = make_synthetic(6, 600, seed=8)
    a, b = _noisy(clean, 1), _noisy(clean, 2)
    config = TrainConfig(objective="noise2noise", epochs=1, **TINY)
    metrics = train(config, a, tmp_path / "run", noisy=b, progress=False)
    assert metrics["config"]["pair_mixing"] == 1
    text = (tmp_path / "run" / "config.toml").read_text()
    assert "# pair_mixing is unset: the training data gave 1 here.\n" in text
    assert "pair_mixing =" not in text  # unset in the file: it follows other data
    _, saved = load_checkpoint(tmp_path / "run")
    assert saved["extra"]["train"]["pair_mixing"] == 1  # what --resume goes on with


def test_the_trainer_recombines_training_batches_only(tmp_path, monkeypatch) -> None:
    from mdnc.training.objectives import noise2noise as objectives

    runs, validation = [], []
    recombine, batch = objectives.recombine_pairs, objectives.Noise2NoiseObjective.batch

    def counted_recombine(a, b, run, generator=None):
        runs.append(run)
        return recombine(a, b, run, generator)

    def counted_batch(self, items, device, generator=None):
        validation.append(generator is not None)
        return batch(self, items, device, generator)

    monkeypatch.setattr(objectives, "recombine_pairs", counted_recombine)
    monkeypatch.setattr(objectives.Noise2NoiseObjective, "batch", counted_batch)
    clean = make_synthetic(6, 600, seed=8)
    config = TrainConfig(
        objective="noise2noise", epochs=2, objective_options={"pair_mixing": 3}, **TINY
    )
    trainer = Trainer(config, _noisy(clean, 1), tmp_path / "run", noisy=_noisy(clean, 2),
                      progress=False)  # fmt: skip
    trainer.fit()
    steps = 2 * len(trainer.loader)
    assert runs == [3] * steps
    assert validation.count(False) == steps and validation.count(True) > 0


@pytest.mark.parametrize("saved", [None, 1])
def test_a_resumed_noise2noise_run_mixes_pairs_as_it_did(tmp_path, saved) -> None:
    """Through the Python API too: a run saved before pair_mixing existed (None: the key
    removed) resumes with whole windows, not with what the data would settle today."""
    import json

    clean = make_synthetic(6, 600, seed=8)
    a, b = _noisy(clean, 1), _noisy(clean, 2)
    config = TrainConfig(objective="noise2noise", epochs=1, **TINY)
    train(config, a, tmp_path / "run", noisy=b, progress=False)
    path = tmp_path / "run" / "config.json"
    saved_config = json.loads(path.read_text())
    assert saved_config["extra"]["train"]["pair_mixing"] == 1
    if saved is None:
        del saved_config["extra"]["train"]["pair_mixing"]
        path.write_text(json.dumps(saved_config))
    trainer = Trainer(dataclasses.replace(config, epochs=2), a, tmp_path / "run", noisy=b,
                      resume=True, progress=False)  # fmt: skip
    trainer.fit()
    expected = 0 if saved is None else 1
    assert (
        trainer.config.objective_options.pair_mixing
        == trainer.objective.options.pair_mixing
        == expected
    )
    assert json.loads(path.read_text())["extra"]["train"]["pair_mixing"] == expected


def test_a_pair_of_other_lengths_is_named_even_when_held_out(tmp_path) -> None:
    """Every pair is checked before the split: the message names the DATA file, also when
    the recording would be a held-out one."""
    from mdnc.data import DataError

    rng = np.random.default_rng(0)
    first = [_white((1, 1000), rng) for _ in range(3)]
    second = [a + _white(a.shape, rng) for a in first]
    second[2] = second[2][:, :900]
    names = ["a.npy", "b.npy", "c.npy"]
    config = TrainConfig(objective="noise2noise", epochs=1, **TINY)
    with pytest.raises(DataError, match=r"shape \(1, 900\) .* does not match its clean "
                       r"recording c.npy of shape \(1, 1000\)"):  # fmt: skip
        train(config, first, tmp_path / "run", noisy=second, names=names, progress=False)
    assert not (tmp_path / "run").exists()
