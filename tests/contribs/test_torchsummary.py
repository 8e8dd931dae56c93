"""The summary tool: the documented format, several outputs, devices and dtypes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mdnc.contribs.torchsummary import summary, summary_string
from mdnc.modules import resnet


class TwoOutputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(2, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.conv(x)
        return y, y[:, :1, ::2]


class DictOutput(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = TwoOutputs()

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        a, b = self.inner(x)
        return {"a": a, "b": b}


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(4, 2)
        self.b = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.a(x) + self.b(y)


def test_multi_output_rows() -> None:
    text, counts = summary_string(DictOutput(), (2, 10))
    lines = text.splitlines()
    rows = lines[3 : lines.index("=" * 64, 3)]
    assert rows == [
        "{:>20}  {:>25} {:>15}".format("Conv1d-1", "[-1, 3, 10]", "21"),
        "{:>20}  {:>25} {:>15}".format("TwoOutputs-2", "[-1, 3, 10]", "0"),
        "{:>20}  {:>25} {:>15}".format("", "[-1, 1, 5]", ""),
        "{:>20}  {:>25} {:>15}".format("DictOutput-3", "[-1, 3, 10]", "0"),
        "{:>20}  {:>25} {:>15}".format("", "[-1, 1, 5]", ""),
    ]
    assert counts == (21, 21)
    # 2 x (-30 - 30 - 5 - 30 - 5) x 4 bytes, in MB.
    assert f"Forward/backward pass size (MB): {abs(2 * -100 * 4 / 2**20):0.2f}" in lines


def test_unet_down_stacks_show_their_hidden_output() -> None:
    text, _ = summary_string(resnet.UNet1d(2, [2, 1]), (1, 16))
    lines = text.splitlines()
    row = next(i for i, line in enumerate(lines) if "_BlockResStkNd" in line)
    assert lines[row].split()[1:] == ["[-1,", "2,", "8]", "0"]
    assert lines[row + 1].split() == ["[-1,", "2,", "16]"]


def test_layout_totals_and_batch_size() -> None:
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    net[0].weight.requires_grad_(False)
    text, counts = summary_string(net, (4,), batch_size=5)
    assert counts == (58, 26)
    assert text.splitlines() == [
        "-" * 64,
        "{:>20}  {:>25} {:>15}".format("Layer (type)", "Output Shape", "Param #"),
        "=" * 64,
        "{:>20}  {:>25} {:>15}".format("Linear-1", "[5, 8]", "40"),
        "{:>20}  {:>25} {:>15}".format("ReLU-2", "[5, 8]", "0"),
        "{:>20}  {:>25} {:>15}".format("Linear-3", "[5, 2]", "18"),
        "=" * 64,
        "Total params: 58",
        "Trainable params: 26",
        "Non-trainable params: 32",
        "-" * 64,
        "Input size (MB): 0.00",
        "Forward/backward pass size (MB): 0.00",
        "Params size (MB): 0.00",
        "Estimated Total Size (MB): 0.00",
        "-" * 64,
    ]
    assert not text.endswith("\n")


def test_long_names_are_shortened() -> None:
    class AVeryLongModuleClassName(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * 2

    text, _ = summary_string(AVeryLongModuleClassName(), (3,))
    assert "AVeryLon...assName-1" in text


def test_several_inputs_and_tensor_type_dtypes() -> None:
    text, counts = summary_string(
        TwoInputs(), [(4,), (3,)], dtypes=[torch.FloatTensor, torch.float32]
    )
    assert counts == (18, 18)
    assert "TwoInputs-3" in text


def test_summary_prints_once_and_returns_counts(capsys: pytest.CaptureFixture[str]) -> None:
    counts = summary(nn.Linear(3, 2), (3,))
    out = capsys.readouterr().out
    assert counts == (8, 8)
    assert out.endswith("-" * 64 + "\n") and out.count("Total params") == 1


def test_default_device_follows_the_model() -> None:
    # The documented default 'cuda:0' fails without a GPU; ours uses the model's device.
    _, counts = summary_string(resnet.AE1d(2, [1, 1]), (1, 16))
    assert counts[0] > 0


def test_device_auto() -> None:
    """``"auto"`` (CUDA when available, else CPU) works, as it does everywhere in mdnc."""
    net = nn.Conv1d(3, 3, 1)
    if torch.cuda.is_available():
        net = net.cuda()
    text, counts = summary_string(net, (3, 16), device="auto")
    assert counts == (12, 12) and "Conv1d-1" in text
    assert summary_string(net, (3, 16)) == (text, counts)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_device_names_are_checked() -> None:
    with pytest.raises(ValueError, match="^device 'cuda' was asked for, but CUDA is not"):
        summary_string(nn.Conv1d(3, 3, 1), (3, 16), device="cuda")
    with pytest.raises(ValueError, match="^device must be 'auto', 'cpu', 'cuda' or 'cuda:N'"):
        summary_string(nn.Conv1d(3, 3, 1), (3, 16), device="gpu7")


def test_input_size_takes_numpy_ints() -> None:
    np = pytest.importorskip("numpy")
    text, _ = summary_string(nn.Conv1d(3, 3, 1), (np.int64(3), np.int64(16)))
    assert "[-1, 3, 16]" in text


def test_buffers_and_mode_are_left_unchanged() -> None:
    net = resnet.BlockPlain1d(2, 2, normalizer="batch")
    before = {k: v.clone() for k, v in net.state_dict().items()}
    summary_string(net, (2, 16))
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert net.training


@pytest.mark.parametrize(
    ("input_size", "dtypes", "pattern"),
    [
        ((), None, r"input_size must be a shape without the batch axis.*got \(\)"),
        ("3x128", None, r"input_size must be a shape .*got '3x128'"),
        ((3, -1), None, r"got \(3, -1\)"),
        ((3, 16), [torch.float32, torch.float64], r"one dtype per input: 1 input size\(s\), got 2"),
    ],
)
def test_bad_arguments(input_size: object, dtypes: object, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        summary_string(nn.Conv1d(3, 3, 1), input_size, dtypes=dtypes)


def test_model_must_be_a_module() -> None:
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got function"):
        summary_string(lambda x: x, (3,))


def test_hooks_are_removed_when_forward_fails() -> None:
    net = resnet.AE1d(2, [1, 1], in_planes=2)
    with pytest.raises(ValueError, match="expects 2 input channels"):
        summary_string(net, (3, 16))
    assert all(not m._forward_hooks for m in net.modules())
