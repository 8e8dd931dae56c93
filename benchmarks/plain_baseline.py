"""A deliberately plain AE1d: stock ``torch.nn`` layers composed the straightforward way.

It has the same math and the same ``state_dict`` keys as ``mdnc.modules.resnet.AE1d``
(bottleneck blocks, default normalizer/activator/layer order), so the two can share
weights: the benchmarks time both side by side, and the tests check that mdnc's fast paths
give the same outputs and gradients as this composition. Nothing here is optimised, on
purpose: speed-ups of the library stay visible against it.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def _unit(cin: int, cout: int, k: int, stride: int = 1, up: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = [nn.InstanceNorm1d(cin, affine=True), nn.PReLU(cin)]
    if up:
        layers.append(nn.Upsample(scale_factor=2.0, mode="linear", align_corners=True))
    layers.append(nn.Conv1d(cin, cout, k, stride=1 if up else stride, padding=k // 2, bias=False))
    return nn.Sequential(*layers)


class PlainBottleneck(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1, up: bool = False) -> None:
        super().__init__()
        self.conv1 = _unit(cin, cin, 1)
        self.conv2 = _unit(cin, cin, 3, stride, up)
        self.conv3 = _unit(cin, cout, 1)
        self.in_node: nn.Module | None = None
        if stride > 1 or cin != cout:
            shortcut: list[nn.Module] = []
            if up:
                shortcut.append(
                    nn.Upsample(scale_factor=float(stride), mode="linear", align_corners=True)
                )
            shortcut += [nn.Conv1d(cin, cout, 1, stride=1 if up else stride, bias=False),
                         nn.InstanceNorm1d(cout, affine=True)]  # fmt: skip
            self.in_node = nn.Sequential(*shortcut)

    def forward(self, x: Tensor) -> Tensor:
        res = self.conv3(self.conv2(self.conv1(x)))
        return res + (x if self.in_node is None else self.in_node(x))


class PlainStack(nn.Module):
    def __init__(self, cin: int, cout: int, n: int, hidden: int | None = None,
                 stride: int = 1, up: bool = False) -> None:  # fmt: skip
        super().__init__()
        hidden = cout if hidden is None else hidden
        self.conv_list = nn.ModuleList(
            PlainBottleneck(cin if i == 0 else hidden, hidden) for i in range(n - 1)
        )
        self.conv_scale = PlainBottleneck(hidden if n > 1 else cin, cout, stride, up)

    def forward(self, x: Tensor) -> Tensor:
        for block in self.conv_list:
            x = block(x)
        return self.conv_scale(x)


class PlainAE1d(nn.Module):
    """``AE1d(channel, layers, in_planes=..., out_planes=...)`` with bottleneck blocks, k=3."""

    def __init__(
        self, channel: int, layers: list[int], in_planes: int = 1, out_planes: int = 1
    ) -> None:
        super().__init__()
        c = channel
        self.conv_first = nn.Conv1d(in_planes, c, 5, padding=2, bias=False)
        self.conv_down_list = nn.ModuleList([PlainStack(c, c, layers[0], stride=2)])
        self.conv_up_list = nn.ModuleList()
        for n in layers[1:-1]:
            self.conv_down_list.append(PlainStack(c, 2 * c, n, stride=2))
            c *= 2
        self.conv_middle_up = PlainStack(c, c, layers[-1], hidden=2 * c, stride=2, up=True)
        for n in layers[-2:0:-1]:
            self.conv_up_list.append(PlainStack(c, c // 2, n, hidden=c, stride=2, up=True))
            c //= 2
        self.conv_up_list.append(PlainStack(c, c, layers[0], hidden=c))
        self.conv_final = nn.Conv1d(c, out_planes, 5, padding=2, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv_first(x)
        sizes = []
        for stack in self.conv_down_list:
            sizes.append(x.shape[-1])
            x = stack(x)
        x = self.conv_middle_up(x)
        for stack, size in zip(self.conv_up_list, reversed(sizes), strict=True):
            start = (x.shape[-1] - size) // 2
            x = stack(x[..., start : start + size])
        return self.conv_final(x)


def plain_like(model: nn.Module) -> PlainAE1d:
    """A plain copy of an ``AE1d`` (bottleneck, kernel 3) with the same weights."""
    kwargs = model.mdnc_config["kwargs"] if hasattr(model, "mdnc_config") else None
    if kwargs is None:
        raise ValueError("plain_like needs a model built by mdnc.checkpoint.build_model")
    plain = PlainAE1d(kwargs["channel"], list(kwargs["layers"]), kwargs.get("in_planes", 1),
                      kwargs.get("out_planes", 1))  # fmt: skip
    plain.load_state_dict(model.state_dict(), strict=True)
    return plain


if __name__ == "__main__":
    from mdnc.checkpoint import build_model, model_config

    torch.manual_seed(0)
    net = build_model(model_config("AE1d", channel=16, layers=[2, 2, 2, 2]))
    plain = plain_like(net)
    x = torch.randn(2, 1, 999)
    print("max |mdnc - plain| =", float((net(x) - plain(x)).abs().max()))
