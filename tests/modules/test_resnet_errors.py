# ruff: noqa: E501  (tables read best one case per line)
"""Ill cases: each bad argument or input raises a message naming it, its value, what is accepted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from mdnc.modules import resnet

CONSTRUCTION = [
    # (callable, exception, pattern in the message)
    (lambda: resnet.AE1d(0, [1, 1]), ValueError, r"channel must be an int >= 1, got 0"),
    (lambda: resnet.AE1d(-4, [1, 1]), ValueError, r"channel must be an int >= 1, got -4"),
    (lambda: resnet.AE1d(4.0, [1, 1]), TypeError, r"channel must be an int >= 1, got 4\.0 \(float\)"),
    (lambda: resnet.UNet1d(True, [1, 1]), TypeError, r"channel must be an int >= 1, got True"),
    (lambda: resnet.AE1d(4, []), ValueError, r"layers must hold at least 2 stages.*got \[\]"),
    (lambda: resnet.AE1d(4, [3]), ValueError, r"at least 2 stages.*got \[3\]"),
    (lambda: resnet.UNet1d(4, [2, 0]), ValueError, r"layers\[1\] = 0 in \[2, 0\]"),
    (lambda: resnet.AE2d(4, [2, -1]), ValueError, r"layers\[1\] = -1"),
    (lambda: resnet.AE1d(4, 3), TypeError, r"layers must be a sequence of ints >= 1.*got 3 \(int\)"),
    (lambda: resnet.AE1d(4, "22"), TypeError, r"layers must be a sequence.*got '22'"),
    (lambda: resnet.AE1d(4, [1, 2.5]), ValueError, r"layers\[1\] = 2\.5"),
    (lambda: resnet.AE1d(4, [1, 1], block="dense"), ValueError,
     r"block must be one of 'bottleneck', 'plain' \(case-insensitive\), got 'dense'"),
    (lambda: resnet.UNet1d(4, [1, 1], block=3), TypeError, r"block must be one of .* got 3 \(int\)"),
    (lambda: resnet.AE1d(4, [1, 1], kernel_size=4), ValueError,
     r"kernel_size must be odd \(1, 3, 5, \.\.\.\) .* got 4"),
    (lambda: resnet.UNet2d(4, [1, 1], kernel_size=(3, 2)), ValueError, r"must be odd.*got \(3, 2\)"),
    (lambda: resnet.AE2d(4, [1, 1], kernel_size=(3, 3, 3)), ValueError,
     r"kernel_size must be an int or a sequence of 2 ints .*got \(3, 3, 3\) with 3 values"),
    (lambda: resnet.AE1d(4, [1, 1], kernel_size=0), ValueError, r"kernel_size must hold ints >= 1, got 0"),
    (lambda: resnet.AE1d(4, [1, 1], kernel_size="3"), TypeError, r"kernel_size must be an int"),
    (lambda: resnet.AE1d(4, [1, 1], in_planes=0), ValueError, r"in_planes must be an int >= 1, got 0"),
    (lambda: resnet.UNet3d(4, [1, 1], out_planes=None), TypeError, r"out_planes must be an int >= 1, got None"),
    (lambda: resnet.EncoderNet1d(4, [1, 1], out_length=-2), ValueError, r"out_length must be an int >= 1, got -2"),
    (lambda: resnet.DecoderNet1d(4, [1, 1], 16, in_length=1.5), TypeError, r"in_length must be an int"),
    (lambda: resnet.DecoderNet1d(4, [1, 1], 0), ValueError, r"out_size must hold ints >= 1, got 0"),
    (lambda: resnet.DecoderNet2d(4, [1, 1], (8, 8, 8)), ValueError, r"out_size must be an int or a sequence of 2"),
    (lambda: resnet.DecoderNet1d(4, [1, 1, 1], 4), ValueError,
     r"out_size=\(4,\) is too small for 3 up-samplings.*\(1,\)"),
    (lambda: resnet.DecoderNet1d(4, [1, 1, 1, 1], 12), ValueError,
     r"out_size=\(12,\) is too small for 4 up-samplings"),
    (lambda: resnet.BlockPlain1d(4, 8, normalizer="layer"), ValueError,
     r"normalizer must be one of 'pinst', 'inst', 'batch', 'null' \(case-insensitive\), got 'layer'"),
    (lambda: resnet.BlockPlain1d(4, 8, activator="gelu"), ValueError,
     r"activator must be one of 'prelu', 'relu', 'null'.*got 'gelu'"),
    (lambda: resnet.BlockBottleneck2d(4, 8, layer_order="mid"), ValueError,
     r"layer_order must be one of 'new', 'old'.*got 'mid'"),
    (lambda: resnet.BlockBottleneck1d(4, 8, scaler="sideways"), ValueError,
     r"scaler must be one of 'down', 'up'.*got 'sideways'"),
    (lambda: resnet.BlockPlain1d(4, 8, output_size=10), ValueError,
     r"output_size is only used with scaler='up', got output_size=10 with scaler='down'"),
    (lambda: resnet.BlockPlain1d(4, 8, kernel_size=2), ValueError, r"kernel_size must be odd"),
    (lambda: resnet.BlockPlain2d(4, 8, stride=(2, 0)), ValueError, r"stride must hold ints >= 1"),
    (lambda: resnet.BlockPlain1d(0, 8), ValueError, r"in_planes must be an int >= 1, got 0"),
    (lambda: resnet.BlockPlain1d(4, 8, order=2), ValueError, r"BlockPlain1d is 1-D: order must be 1"),
    (lambda: resnet.ae16(order=4), ValueError, r"order must be 1, 2 or 3.*got 4"),
    (lambda: resnet.decnet13(64, order=0), ValueError, r"order must be 1, 2 or 3.*got 0"),
]  # fmt: skip


@pytest.mark.parametrize(("build", "error", "pattern"), CONSTRUCTION)
def test_bad_constructor_arguments(build: Callable[[], Any], error: type, pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        build()


def test_block_names_are_case_insensitive() -> None:
    net = resnet.AE1d(2, [1, 1], block="Plain")
    assert net.nlayers == resnet.AE1d(2, [1, 1], block="plain").nlayers
    resnet.BlockPlain1d(2, 2, normalizer="PInst", activator="ReLU", layer_order="OLD")


AE = resnet.AE1d(4, [1, 1, 1], in_planes=3)
UNET2 = resnet.UNet2d(2, [1, 1], in_planes=2)
ENC = resnet.EncoderNet1d(2, [1, 1])
DEC_VEC = resnet.DecoderNet1d(2, [1, 1], 16, in_length=3)
DEC_MAP = resnet.DecoderNet1d(2, [1, 1], 16, in_length=None)

INPUTS = [
    (AE, torch.randn(3, 128), ValueError,
     r"AE1d expects a 3-D tensor \(B, in_planes, L\), got a 2-D tensor of shape \(3, 128\)"),
    (AE, torch.randn(2, 1, 64), ValueError,
     r"AE1d expects 3 input channels \(in_planes\), got 1 channels in a tensor of shape \(2, 1, 64\)"),
    (AE, torch.randn(2, 3, 4), ValueError,
     r"AE1d needs inputs of at least 5 samples: its 2 down-sampling\(s\) shrink the spatial size "
     r"\(4,\) to \(1,\).*got an input of shape \(2, 3, 4\)"),
    (AE, torch.ones(2, 3, 64, dtype=torch.long), TypeError,
     r"AE1d expects a floating-point tensor, got dtype torch.int64"),
    (AE, [[0.0] * 64] * 3, TypeError, r"AE1d expects a torch.Tensor .* got list"),
    (UNET2, torch.randn(1, 2, 64), ValueError, r"UNet2d expects a 4-D tensor \(B, in_planes, S1, S2\)"),
    (UNET2, torch.randn(1, 2, 2, 1), ValueError,
     r"UNet2d needs inputs of a size whose deepest map keeps more than one element"),
    (ENC, torch.randn(1, 1, 4), ValueError, r"EncoderNet1d needs inputs of at least 5 samples"),
    (DEC_VEC, torch.randn(2, 4), ValueError,
     r"DecoderNet1d expects a vector input of shape \(B, 3\) \(in_length=3\), got a tensor of shape \(2, 4\)"),
    (DEC_VEC, torch.randn(2, 3, 1), ValueError, r"expects a vector input of shape \(B, 3\)"),
    (DEC_VEC, torch.ones(2, 3, dtype=torch.int32), TypeError, r"floating-point torch.Tensor, got torch.int32"),
    (DEC_MAP, torch.randn(2, 4, 3), ValueError,
     r"DecoderNet1d expects a spatial size of at least \(4,\) \(input_size=\(4, 4\)\)"),
    (DEC_MAP, torch.randn(2, 2, 4), ValueError, r"expects 4 input channels \(input_size\[0\]\), got 2"),
]  # fmt: skip


@pytest.mark.parametrize(("net", "x", "error", "pattern"), INPUTS)
def test_bad_inputs(net: torch.nn.Module, x: Any, error: type, pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        net(x)


def test_too_short_inputs_fail_in_eval_mode_too() -> None:
    net = resnet.UNet1d(2, [1, 1, 1, 1]).eval()
    with pytest.raises(ValueError, match="at least 9 samples"):
        net(torch.randn(1, 1, 8))
