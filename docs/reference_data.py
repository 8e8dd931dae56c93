"""What the API pages say beyond the docstrings: prose, operators, and the examples.

``gen_reference.py`` turns every :class:`Entry` into a page. Argument tables come from the
docstrings; this file gives the rest. The examples are run by ``examples.py`` (and by
``tests/docs``): keep them small (tiny networks, CPU, well under a second each) and
deterministic (seed what is random and print nothing that depends on timing).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ICONS = {
    "class": ":material-cube-outline:",
    "exception": ":material-alert-octagon-outline:",
    "function": ":material-function-variant:",
    "constant": ":material-pi:",
    "operator": ":material-plus-minus-variant:",
    "method": ":material-function:",
    "property": ":material-variable:",
    "source": ":octicons-file-code-24:",
}
NN_MODULE = "[:material-graph-outline: nn.Module][torch-module]"

MODULES = (
    "mdnc",
    "mdnc.modules.resnet",
    "mdnc.modules.blindspot",
    "mdnc.contribs.torchsummary",
    "mdnc.checkpoint",
    "mdnc.data",
    "mdnc.training",
    "mdnc.inference",
    "mdnc.engines",
    "mdnc.export",
    "mdnc.registry",
)


@dataclass
class Entry:
    """One public name and how its page is made."""

    name: str
    module: str  # the documented module: mdnc.data, not mdnc.data.io
    obj: Any
    kind: str  # class, exception, function, constant, method
    page: str = ""  # relative to docs/
    var: str = ""  # the name of the result in the signature block (net = ...)
    base: str = ""
    kind_label: str = ""
    doc_from: Any = None  # the object whose docstring gives the Args (default obj)
    intro_from: Any = None  # the object whose docstring gives the intro (default obj)
    signature_of: Any = None  # the callable whose signature is shown (default obj)
    skip: tuple[str, ...] = ()
    types: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    fallback: dict[str, str] = field(default_factory=dict)  # args a docstring lacks
    args_section: str = "args"
    returns: str = ""
    operators: list[dict] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    method_fallback: dict[str, dict[str, str]] = field(default_factory=dict)
    method_results: dict[str, str] = field(default_factory=dict)
    properties: list[str] = field(default_factory=list)
    examples: list[tuple[str, str]] = field(default_factory=list)
    extra: str = ""
    summary: str = ""  # for names without a docstring (constants)
    source: str = ""  # the file that defines it, relative to the repository


def public_names() -> dict[str, list[str]]:
    """The documented public names, module by module, from their ``__all__`` lists."""
    names: dict[str, list[str]] = {"mdnc": ["load", "denoise", "train"]}
    for module in MODULES[1:]:
        names[module] = list(importlib.import_module(module).__all__)
    return names


# ---------------------------------------------------------------------------------------
# mdnc.modules.resnet
# ---------------------------------------------------------------------------------------

AXES = {1: "L", 2: "L1, L2", 3: "L1, L2, L3"}
SIZES = {1: "`L` is the input data length", 2: "`L1, L2` are the input sizes",
         3: "`L1, L2, L3` are the input sizes"}  # fmt: skip

AE_CHART = """```mermaid
flowchart TB
    b1["Block 1<br>Stack of layers[0] blocks"]
    b2["Block 2<br>Stack of layers[1] blocks"]
    bi["Block ...<br>Stack of ... blocks"]
    bn["Block n<br>Stack of layers[n-1] blocks"]
    u1["Block 2n-1<br>Stack of layers[0] blocks"]
    u2["Block 2n-2<br>Stack of layers[1] blocks"]
    ui["Block ...<br>Stack of ... blocks"]
    b1 -->|down<br>sampling| b2 -->|down<br>sampling| bi -->|down<br>sampling| bn
    bn -->|up<br>sampling| ui -->|up<br>sampling| u2 -->|up<br>sampling| u1
    linkStyle 0,1,2 stroke-width:4px, stroke:#800 ;
    linkStyle 3,4,5 stroke-width:4px, stroke:#080 ;
```"""

UNET_CHART = AE_CHART.replace(
    "    linkStyle 0,1,2",
    "    b1 -.->|skip| u1\n    b2 -.->|skip| u2\n    bi -.->|skip| ui\n    linkStyle 0,1,2",
)

AE_TEXT = """\
This module is a built-in model for {n}D residual {what}. {relation}

The network down-samples and up-samples the input data according to the network depth.
The depth is given by the length of the argument `layers`. The network structure is shown
in the following chart:

{chart}

The argument `layers` is a sequence of `#!py int`. For each block *i*, it contains
`#!py layers[i-1]` repeated residual blocks (see
[`mdnc.modules.resnet.BlockPlain{n}d`](BlockPlain{n}d.md) and
[`mdnc.modules.resnet.BlockBottleneck{n}d`](BlockBottleneck{n}d.md)). Each down-sampling or
up-sampling is configured by `#!py stride=2` (along every axis whose kernel size is not 1).
The channel number is doubled in the down-sampling route and reduced to 1/2 in the
up-sampling route. The output has exactly the size of the input, for any input size of at
least `net.min_size`; odd sizes included.
"""

AE_RELATION = (
    "The network structure is almost the same as [`mdnc.modules.resnet.UNet{n}d`](UNet{n}d.md) "
    "but all block-level skip connections are removed. Generally, using "
    "[`mdnc.modules.resnet.UNet{n}d`](UNet{n}d.md) should be a better choice."
)
UNET_RELATION = (
    "It is [`mdnc.modules.resnet.AE{n}d`](AE{n}d.md) with a skip connection at every level: "
    "each up-sampling stage concatenates, after its own input, the input of the last block "
    "of the matching down-sampling stage (dashed arrows below)."
)

ENCODER_TEXT = """\
This module is a built-in model for a {n}D residual encoder: the first half of
[`AE{n}d`](AE{n}d.md), one more down-sampling stage, then (with a positive `out_length`)
a global average pooling and a linear layer that give a vector. With `#!py out_length=None`
the network returns the feature map instead, so it can feed your own head.

Stage *i* holds `#!py layers[i-1]` residual blocks and ends with a down-sampling by
`#!py stride=2`; the channel number starts at `channel` and doubles at every stage after the
first. The input size is free (at least `net.min_size`).
"""

DECODER_TEXT = """\
This module is a built-in model for a {n}D residual decoder: from a vector of `in_length`
numbers (or a feature map of `net.input_size`) up to data of the fixed size `out_size`.

The sizes of the stages are computed from `out_size` by halving it (with ceiling)
`#!py len(layers)` times; the smallest is the size the decoder starts from. Stage *i* holds
`#!py layers[i-1]` residual blocks and ends with an up-sampling by 2, after which the data
is centre-cropped to the next size, so any `out_size` is reached exactly. The channel
number starts at `#!py channel * 2 ** (len(layers) - 1)` and halves at every stage.
"""

BLOCK_TEXT = """\
The block is made of {units} branch units and a shortcut: the output is the branch's
output plus the shortcut's. Each branch unit is a normalizer, an activator and a
convolution (`#!py layer_order='new'`, pre-activation) or a convolution, a normalizer and
an activator (`#!py 'old'`). The shortcut is the identity when the block keeps the channel
number and the size; otherwise a 1-sized convolution (after an up-sampling for
`#!py scaler='up'`) and a normalizer.

With `#!py scaler='down'` the resampling unit is a convolution with stride `stride`; with
`#!py scaler='up'` it is an up-sampling by `stride` (or to `output_size`) followed by a
stride-1 convolution. Inside the networks of this module, stacks of these blocks make every
stage (see [`AE{n}d`](AE{n}d.md)).
"""


def _net_operator(n: int, family: str) -> dict:
    axes = AXES[n]
    if family in ("ae", "unet"):
        return {
            "name": "__call__",
            "call": "y = net(x)",
            "text": f"The forward operator implemented by the `forward()` method. The input is "
            f"a {n}D tensor, and the output is the final output of this network.",
            "requires": [("x", "torch.Tensor",
                          f"A {n}D tensor, the size should be `#!py (B, C, {axes})`, where `B` "
                          f"is the batch size, `C` is the input channel number, and "
                          f"{SIZES[n]}; each at least `net.min_size` along its axis.")],
            "returns": [("y", f"A {n}D tensor, the size should be `#!py (B, C, {axes})`, where "
                         f"`B` is the batch size, `C` is the output channel number, and "
                         + ("`L` is the **input** data length." if n == 1 else
                            f"`{axes}` are the **input** sizes."))],
        }  # fmt: skip
    if family == "encoder":
        return {
            "name": "__call__",
            "call": "y = net(x)",
            "text": f"The forward operator implemented by the `forward()` method. The input is "
            f"a {n}D tensor; the output is a vector per sample, or the last feature map.",
            "requires": [("x", "torch.Tensor",
                          f"A {n}D tensor, the size should be `#!py (B, C, {axes})`, where `B` "
                          f"is the batch size, `C` is the input channel number, and "
                          f"{SIZES[n]}; each at least `net.min_size` along its axis.")],
            "returns": [("y", "A tensor of size `#!py (B, out_length)`; with "
                         "`#!py out_length=None` the feature map "
                         f"`#!py (B, channel * 2 ** (len(layers) - 1), {axes.replace('L', 'M')})`"
                         ", where each `M` is the input size divided by "
                         "`#!py 2 ** len(layers)`, rounded up.")],
        }  # fmt: skip
    return {
        "name": "__call__",
        "call": "y = net(x)",
        "text": "The forward operator implemented by the `forward()` method. The input is a "
        "vector (or a feature map), and the output is data of size `out_size`.",
        "requires": [("x", "torch.Tensor",
                      "A tensor of size `#!py (B, in_length)`, or `#!py (B, *net.input_size)` "
                      "when `#!py in_length=None` (a larger feature map is centre-cropped).")],
        "returns": [("y", f"A {n}D tensor, the size should be `#!py (B, C, {axes})`, where `B` "
                     "is the batch size, `C` is the output channel number `out_planes`, and "
                     f"`{axes}` {'is' if n == 1 else 'are'} given by `out_size`.")],
    }  # fmt: skip


def _block_operator(n: int) -> dict:
    axes = AXES[n]
    return {
        "name": "__call__",
        "call": "y = layer(x)",
        "text": "The forward operator implemented by the `forward()` method: the branch plus "
        "the shortcut.",
        "requires": [("x", "torch.Tensor",
                      f"A {n}D tensor, the size should be `#!py (B, C, {axes})`, where `B` is "
                      f"the batch size, `C` is the input channel number `in_planes`, and "
                      f"{SIZES[n]}.")],
        "returns": [("y", f"A {n}D tensor of size `#!py (B, C, {axes.replace('L', 'M')})`, where "
                     "`C` is `out_planes`; each `M` is the input size divided by `stride` "
                     "(rounded up) for `#!py scaler='down'`, multiplied by `stride` (or "
                     "`output_size`) for `#!py scaler='up'`.")],
    }  # fmt: skip


SEED_EXAMPLE = """\
import mdnc

net = mdnc.modules.resnet.AE1d(64, [2, 2, 2, 2, 3], in_planes=3, out_planes=1)
print('The number of convolutional layers along the depth is {0}.'.format(net.nlayers))
mdnc.contribs.torchsummary.summary(net, (3, 128), device='cpu')
"""


def _net_examples(cls: str, n: int, family: str) -> list[tuple[str, str]]:
    path = f"mdnc.modules.resnet.{cls}"
    if family in ("ae", "unet"):
        if n == 1:
            first = (
                [("Example", SEED_EXAMPLE)]
                if cls == "AE1d"
                else [("Summary", f"import mdnc\n\nnet = {path}(16, [2, 2, 2], in_planes=1, "
                       f"out_planes=1)\nprint('The number of convolutional layers along the "
                       f"depth is {{0}}.'.format(net.nlayers))\n"
                       f"mdnc.contribs.torchsummary.summary(net, (1, 64), device='cpu')\n")]
            )  # fmt: skip
            return first + [(
                "Any length, and a clear error below the minimum",
                f"import torch\nimport mdnc\n\nnet = {path}(8, [1, 1, 1], in_planes=2, "
                f"out_planes=2)\nprint('nlayers:', net.nlayers, 'min_size:', net.min_size)\n"
                f"y = net(torch.randn(4, 2, 1001))\nprint('y:', tuple(y.shape))\ntry:\n"
                f"    net(torch.randn(4, 2, 4))\nexcept ValueError as err:\n    print(err)\n",
            )]  # fmt: skip
        size = "30, 45" if n == 2 else "9, 16, 20"
        kernel = "(3, 1)" if n == 2 else "(3, 3, 1)"
        return [(
            "Forward pass",
            f"import torch\nimport mdnc\n\nnet = {path}(8, [1, 1, 1], in_planes=1, "
            f"out_planes=3)\nprint('nlayers:', net.nlayers, 'min_size:', net.min_size)\n"
            f"y = net(torch.randn(2, 1, {size}))\nprint('y:', tuple(y.shape))\n"
            f"# A kernel size of 1 along an axis: no resampling along that axis.\n"
            f"net = {path}(8, [1, 1, 1], kernel_size={kernel})\n"
            f"print('min_size with kernel_size={kernel}:', net.min_size)\n",
        )]  # fmt: skip
    if family == "encoder":
        size = {1: "100", 2: "40, 50", 3: "12, 16, 20"}[n]
        return [(
            "A vector or a feature map",
            f"import torch\nimport mdnc\n\nnet = {path}(8, [1, 1, 1], in_planes=2, "
            f"out_length=5)\nprint('nlayers:', net.nlayers, 'min_size:', net.min_size)\n"
            f"x = torch.randn(4, 2, {size})\nprint('vector:', tuple(net(x).shape))\n"
            f"net = {path}(8, [1, 1, 1], in_planes=2, out_length=None)\n"
            f"print('feature map:', tuple(net(x).shape))\n",
        )]  # fmt: skip
    size = {1: "100", 2: "(40, 50)", 3: "(12, 16, 20)"}[n]
    return [(
        "From a vector or from a feature map",
        f"import torch\nimport mdnc\n\nnet = {path}(8, [1, 1, 1], out_size={size}, "
        f"in_length=5, out_planes=2)\nprint('nlayers:', net.nlayers, 'input_size:', "
        f"net.input_size)\nprint('from a vector:', tuple(net(torch.randn(4, 5)).shape))\n"
        f"net = {path}(8, [1, 1, 1], out_size={size}, in_length=None)\n"
        f"print('input_size:', net.input_size)\n"
        f"x = torch.randn(4, *net.input_size)\n"
        f"print('from a feature map:', tuple(net(x).shape))\n",
    )]  # fmt: skip


def _block_examples(cls: str, n: int) -> list[tuple[str, str]]:
    path = f"mdnc.modules.resnet.{cls}"
    if n == 1:
        return [
            ("Summary of a down-sampling block",
             f"import mdnc\n\nlayer = {path}(16, 32, kernel_size=3, stride=2)\n"
             f"mdnc.contribs.torchsummary.summary(layer, (16, 128), device='cpu')\n"),
            ("Down-sampling, up-sampling, and up-sampling to a size",
             f"import torch\nimport mdnc\n\nx = torch.randn(4, 16, 51)\n"
             f"down = {path}(16, 32, stride=2)\n"
             f"up = {path}(32, 16, stride=2, scaler='up')\n"
             f"fit = {path}(32, 16, scaler='up', output_size=51)\n"
             f"h = down(x)\nprint(tuple(h.shape), tuple(up(h).shape), tuple(fit(h).shape))\n"),
        ]  # fmt: skip
    size = "20, 31" if n == 2 else "6, 8, 11"
    return [(
        "Down-sampling and up-sampling",
        f"import torch\nimport mdnc\n\nx = torch.randn(2, 8, {size})\n"
        f"down = {path}(8, 16, stride=2)\nup = {path}(16, 8, stride=2, scaler='up')\n"
        f"h = down(x)\nprint(tuple(h.shape), tuple(up(h).shape))\n"
        f"# Resampling along some axes only: a stride per axis.\n"
        f"flat = {path}(8, 8, stride=({'2, 1' if n == 2 else '1, 2, 2'}))\n"
        f"print(tuple(flat(x).shape))\n",
    )]  # fmt: skip


# The stem of the network classes of each family of the registry: "unet" -> UNet1d, ...
FAMILY_STEMS = {"ae": "AE", "unet": "UNet", "encoder": "EncoderNet", "decoder": "DecoderNet"}


def _preset_entry(name: str) -> Entry:
    """The page of the preset registered as ``name`` (its block and layers as registered)."""
    from mdnc.registry import get_model_info

    info = get_model_info(name)
    family, obj = info.family, info.builder
    cls = FAMILY_STEMS[family]
    block, layers = info.block, list(info.layers or ())
    call = {"decoder": f"{name}(64, order=1, in_length=2)", "encoder":
            f"{name}(order=1, out_length=2)"}.get(family, f"{name}(order=1)")  # fmt: skip
    x = "torch.randn(2, 2)" if family == "decoder" else "torch.randn(2, 1, 64)"
    extra = (
        "The number in the name is the number of convolutional layers along the depth "
        "(`net.nlayers`). The network class depends on `order`:\n\n"
        "| `order` | network | block | layers |\n| :---: | :--- | :---: | :---: |\n"
        + "".join(
            f"| `#!py {o}` | [`{cls}{o}d`]({cls}{o}d.md) | `#!py '{block}'` | `#!py {layers}` |\n"
            for o in (1, 2, 3)
        )
        + "\nEvery preset has `#!py channel=64`; `kernel_size`, `in_planes`, `out_planes`, "
        + ("`in_length`" if family == "decoder" else
           "`out_length`" if family == "encoder" else "...")
        + " are passed on as keyword arguments."
    )  # fmt: skip
    return Entry(
        name=name, module="mdnc.modules.resnet", obj=obj, kind="function", var="net",
        kind_label="Function (preset)",
        returns=f"The network: a `{cls}1d`, `{cls}2d` or `{cls}3d` (by `order`).",
        types={"order": "int", "kwargs": "dict", "out_size": "int | (int,)"},
        extra=extra,
        examples=[(
            "Example",
            f"import torch\nimport mdnc\n\nnet = mdnc.modules.resnet.{call}\n"
            f"print(type(net).__name__, 'nlayers:', net.nlayers)\n"
            f"print('parameters:', sum(p.numel() for p in net.parameters()))\n"
            f"print('y:', tuple(net({x}).shape))\n",
        )],
    )  # fmt: skip


NET_PROPERTIES = ("nlayers", "min_size", "input_size", "checkpointing")


def _properties(cls: type) -> list[str]:
    """The documented properties that ``cls`` has, in a fixed order."""
    found = []
    for name in NET_PROPERTIES:
        try:
            attr = inspect.getattr_static(cls, name)
        except AttributeError:
            continue
        if isinstance(attr, property):
            found.append(name)
    return found


def resnet_entries() -> list[Entry]:
    from mdnc.modules import _blocks, _nets, resnet
    from mdnc.registry import list_models

    entries = []
    for n in (1, 2, 3):
        for stem, family in (("AE", "ae"), ("UNet", "unet")):
            cls = f"{stem}{n}d"
            relation = (AE_RELATION if family == "ae" else UNET_RELATION).format(n=n)
            chart = AE_CHART if family == "ae" else UNET_CHART
            what = "auto-encoder" if family == "ae" else "U-Net"
            entries.append(Entry(
                name=cls, module="mdnc.modules.resnet", obj=getattr(resnet, cls), kind="class",
                var="net", base=NN_MODULE, doc_from=_nets._AENd, skip=("order",),
                types={"layers": "(int,)"},
                extra=AE_TEXT.format(n=n, what=what, relation=relation, chart=chart),
                operators=[_net_operator(n, family)],
                properties=_properties(getattr(resnet, cls)),
                examples=_net_examples(cls, n, family),
            ))  # fmt: skip
        for stem, family, impl in (
            ("EncoderNet", "encoder", _nets._EncoderNetNd),
            ("DecoderNet", "decoder", _nets._DecoderNetNd),
        ):
            cls = f"{stem}{n}d"
            text = ENCODER_TEXT if family == "encoder" else DECODER_TEXT
            entries.append(Entry(
                name=cls, module="mdnc.modules.resnet", obj=getattr(resnet, cls), kind="class",
                var="net", base=NN_MODULE, doc_from=impl, skip=("order",),
                types={"layers": "(int,)"}, extra=text.format(n=n),
                operators=[_net_operator(n, family)],
                properties=_properties(getattr(resnet, cls)),
                examples=_net_examples(cls, n, family),
            ))  # fmt: skip
        for stem, units in (("BlockPlain", "two"), ("BlockBottleneck", "three")):
            cls = f"{stem}{n}d"
            entries.append(Entry(
                name=cls, module="mdnc.modules.resnet", obj=getattr(resnet, cls), kind="class",
                var="layer", base=NN_MODULE, doc_from=_blocks._BlockPlainNd, skip=("order",),
                intro_from=getattr(resnet, cls),
                extra=(
                    (inspect.getdoc(getattr(_blocks, f"_{stem}Nd")) or "").split("\n\n")[0]
                    .replace("N-d", f"{n}-D") + "\n\n" + BLOCK_TEXT.format(units=units, n=n)
                ),
                operators=[_block_operator(n)], examples=_block_examples(cls, n),
            ))  # fmt: skip
    entries.extend(_preset_entry(name) for name in list_models(kind="preset"))
    return entries


# ---------------------------------------------------------------------------------------
# mdnc.contribs.torchsummary
# ---------------------------------------------------------------------------------------


def summary_entries() -> list[Entry]:
    from mdnc.contribs import torchsummary as ts

    module = "mdnc.contribs.torchsummary"
    table_text = (
        "The table has one row per module (`nn.Sequential` and `nn.ModuleList` aside) in the "
        "order the modules finish their forward pass, named `ClassName-i`; a name longer than "
        "20 characters is shown as its first 8 characters, `...` and its last 9. A module with "
        "several outputs gets one line per output. Sizes assume 4 bytes a number. One forward "
        "pass runs on random inputs (a batch of 2 when `#!py batch_size=-1`), without building "
        "a gradient graph; buffers such as BatchNorm running statistics are restored afterwards."
    )
    return [
        Entry(
            name="summary", module=module, obj=ts.summary, kind="function",
            var="total, trainable", doc_from=ts.summary_string, extra=table_text,
            returns="The number of parameters, and of trainable parameters: "
            "`#!py (total_params, trainable_params)`.",
            examples=[
                ("Example", "import mdnc\n\nnet = mdnc.modules.resnet.UNet1d(4, [1, 1], "
                 "in_planes=1, out_planes=1)\n# No device given: the model's own (here the "
                 "CPU).\ntotal, trainable = mdnc.contribs.torchsummary.summary(net, (1, 32))\n"
                 "print(total, trainable)\n"),
                ("Several inputs and outputs, a batch size shown",
                 "from torch import nn\nimport mdnc\n\n\nclass Pair(nn.Module):\n"
                 "    def __init__(self):\n        super().__init__()\n"
                 "        self.a = nn.Conv1d(1, 4, 3, padding=1)\n"
                 "        self.b = nn.Conv1d(2, 4, 3, padding=1, bias=False)\n\n"
                 "    def forward(self, x, y):\n        return self.a(x), self.b(y)\n\n\n"
                 "mdnc.contribs.torchsummary.summary(Pair(), [(1, 16), (2, 16)], batch_size=8)\n"),
            ],
        ),  # fmt: skip
        Entry(
            name="summary_string", module=module, obj=ts.summary_string, kind="function",
            var="text, (total, trainable)", extra=table_text,
            examples=[(
                "Example",
                "import mdnc\n\nnet = mdnc.modules.resnet.EncoderNet1d(4, [1, 1], "
                "out_length=3)\ntext, (total, trainable) = "
                "mdnc.contribs.torchsummary.summary_string(net, (1, 64))\n"
                "lines = text.splitlines()\nprint(len(lines), 'lines; the last ones:')\n"
                "print('\\n'.join(lines[-10:]))\n",
            )],
        ),  # fmt: skip
    ]


# ---------------------------------------------------------------------------------------
# The workflow API
# ---------------------------------------------------------------------------------------

def _code(text: str) -> str:
    """An example's code written indented in this file: dedented, without the first newline."""
    return textwrap.dedent(text).lstrip("\n")


OBJECTIVE_TEXT = """\
An objective is chosen by its class attribute `name` (`TrainConfig.objective`,
`mdnc train --objective NAME`) among the classes registered with
[`register_objective`](register_objective.md). The [`Trainer`](Trainer.md) calls only its
methods: [`check`](#check) once the recordings are split, [`settle`](#settle) (the
options left to the data), then [`training_windows`](#training_windows),
[`evaluation`](#evaluation) and [`validation_windows`](#validation_windows) to make the
data, and at every step [`training_batch`](#training_batch) (by default
[`batch`](#batch), which validation calls) and [`loss`](#loss). A subclass implements
the three abstract methods (`denoising`, `training_windows`, `evaluation`), or subclasses
[`SupervisedObjective`](SupervisedObjective.md) and overrides what differs (only the loss,
say). The constructor keeps `objective.config` and the noise model, `objective.noise`: the
one given, else the one that `config.noise` names. The class attributes `target_steps` and
`max_epochs` (4000 and 60) set the default schedule, when `epochs` is unset
([`auto_epochs`](auto_epochs.md)), and `validation_passes` (1) how many times the
validation windows are scored (more than once when [`batch`](#batch) draws at random).

Three objectives are built in: [`SupervisedObjective`](SupervisedObjective.md) (clean
targets), [`SelfSupervisedObjective`](SelfSupervisedObjective.md) (noisy recordings only,
blind-spot masking) and [`Noise2NoiseObjective`](Noise2NoiseObjective.md) (pairs of noisy
recordings of the same signal).
"""

_SPLIT = "the recordings of the run, split ([`SplitData`](SplitData.md))."
OBJECTIVE_METHOD_ARGS = {
    "check": {"data": _SPLIT},
    "denoising": {"paired": "whether the run has paired noisy recordings."},
    "training_windows": {"data": _SPLIT},
    "evaluation": {"data": _SPLIT},
    "validation_windows": {
        "data": _SPLIT,
        "inputs": "the held-out inputs that [`evaluation`](#evaluation) returned.",
    },
    "loss_count": {"batch": "the batch."},
    "settle": {"data": _SPLIT},
    "training_batch": {
        "items": "the loader's tensors.",
        "device": "where the step runs.",
    },
}
OBJECTIVE_RESULTS = {
    "denoising": "denoising",
    "training_windows": "dataset",
    "evaluation": "references, inputs",
    "validation_windows": "windows",
    "batch": "batch",
    "loss": "loss",
    "loss_count": "count",
    "settle": "options",
    "training_batch": "batch",
}

TRAINER_TEXT = """\
[`fit`](#fit) runs [`setup`](#setup) (which resolves the device and, under `torchrun`,
joins the process group in [`setup_device`](#setup_device)), the epochs, then
[`close`](#close); [`train`](train.md) is `Trainer(...).fit()`. The steps are methods so
that a subclass can change one of them (second example), and they can be called one by
one (`setup()`, then `run_epoch(0)`, ..., then `close()`). What they make is kept on the
trainer: `trainer.config` (with `hop` and `epochs` resolved), `trainer.objective`,
`trainer.data` (a [`SplitData`](SplitData.md)), `trainer.dataset`, `trainer.model`,
`trainer.optimizer`, `trainer.scheduler`, `trainer.history` (one row per epoch),
`trainer.baselines` (the tuned classical smoothers and their scores, from
[`setup_baselines`](#setup_baselines)) and `trainer.metrics` (the content of
`metrics.json`).

Every run folder receives `model.safetensors`, `config.json` and `optimizer.pt` (the
checkpoint, after every epoch), [`best.safetensors`](../checkpoint/BEST_NAME.md) (the
weights of the epoch of lowest validation loss, [`best_epoch`](#best_epoch); what
[`mdnc.load`](../load.md) and `mdnc denoise` use by default),
[`config.toml`](CONFIG_TOML.md) (the options, at set-up), [`metrics.json`](METRICS_NAME.md),
`loss.png` and `examples.png`.
"""


SAVE_TINY = (
    "from mdnc.checkpoint import build_model, model_config, save_checkpoint\n\n"
    "net = build_model(model_config('UNet1d', channel=4, layers=[1, 1]))\n"
)

WORKFLOW: dict[str, dict[str, dict[str, Any]]] = {
    "mdnc": {
        "load": {
            "var": "net",
            "fallback": {
                "path": "the checkpoint folder (a run folder of `mdnc train`), its "
                "`config.json`, or a `.safetensors` file with a `config.json` beside it.",
                "kwargs": "passed on to [`mdnc.checkpoint.load`](checkpoint/load.md): "
                "`map_location`, the device to put the network on (default the CPU), and "
                "`weights`, `'best'` (default: the epoch of lowest validation loss, "
                "[`best.safetensors`](checkpoint/BEST_NAME.md), when the run has it) or "
                "`'last'`.",
            },
            "types": {"path": "str | os.PathLike", "kwargs": "dict"},
            "returns": "The network with its trained weights, in evaluation mode.",
            "extra": "It is [`mdnc.checkpoint.load`](checkpoint/load.md), reachable from the "
            "package itself; `import mdnc` stays light (the checkpoint code and safetensors "
            "are imported on the first call).",
            "examples": [("Example", (
                "import torch\nimport mdnc\n" + SAVE_TINY
                + "save_checkpoint('runs/tiny', net, extra={'window': 256})\n\n"
                "loaded = mdnc.load('runs/tiny')\n"
                "print(type(loaded).__name__, 'training:', loaded.training)\n"
                "x = torch.randn(1, 1, 256)\nprint(torch.equal(net.eval()(x), loaded(x)))\n"
            ))],
        },
    },
    "mdnc.checkpoint": {
        "BEST_NAME": {
            "summary": "The name of the file of a checkpoint that holds the best weights so "
            "far, beside the last ones (`model.safetensors`).\n\n"
            "[`save_checkpoint`](save_checkpoint.md) writes it with `#!py best=True` (a "
            "training run: at every epoch whose validation loss is the lowest yet; later "
            "saves leave it as it is), and [`load_checkpoint`](load_checkpoint.md) reads it "
            "with `#!py weights=\"best\"`, the default of [`load`](load.md), of "
            "[`mdnc.load`](../load.md) and of `mdnc denoise --weights`. A folder without it "
            "(a run without validation windows, a checkpoint saved by hand) gives its last "
            "weights instead. `config.json` is the last save's; a training run records the "
            "best epoch and its loss in `config['extra']['best']`.",
            "examples": [("Best and last weights", _code('''
                import os

                import torch

                import mdnc
                from mdnc.checkpoint import (BEST_NAME, build_model, load_checkpoint, model_config,
                                             save_checkpoint)

                net = build_model(model_config('AE1d', channel=4, layers=[1, 1]))
                first = next(net.parameters()).detach().clone()
                save_checkpoint('run', net, extra={'epoch': 1}, best=True)  # the best so far
                with torch.no_grad():
                    next(net.parameters()).add_(1.0)  # epoch 2: other weights, not better
                save_checkpoint('run', net, extra={'epoch': 2})
                print(BEST_NAME, sorted(os.listdir('run')))
                best, last = mdnc.load('run'), mdnc.load('run', weights='last')
                print('mdnc.load gives the best:', torch.equal(next(best.parameters()), first))
                last_now = torch.equal(next(last.parameters()), next(net.parameters()))
                print("weights='last' gives the last:", last_now)
                save_checkpoint('plain', net)  # no best weights: 'best' gives the last ones
                model, config = load_checkpoint('plain', weights='best')
                print(sorted(os.listdir('plain')),
                      torch.equal(next(model.parameters()), next(net.parameters())))
            '''))],
        },
        "CONFIG_NAME": {
            "summary": "The name of the file of a checkpoint that holds the network's recipe "
            "(class and constructor arguments), the versions and the `extra` data.",
            "examples": [("Example", (
                "import json\nfrom pathlib import Path\n\n"
                "from mdnc.checkpoint import CONFIG_NAME, build_model, model_config, "
                "save_checkpoint\n\nnet = build_model(model_config('AE1d', channel=4, "
                "layers=[1, 1]))\nsave_checkpoint('run', net, extra={'epoch': 3})\n"
                "print(CONFIG_NAME)\nconfig = json.loads(Path('run', CONFIG_NAME).read_text())\n"
                "print(sorted(config))\nprint(config['class'], config['kwargs'], config['extra'])\n"
            ))],
        },
        "HASHES_KEY": {
            "summary": "The entry of `config.json` with the SHA-256 of each weight and state "
            "file, verified when the file is loaded.",
            "examples": [("Example", _code('''
                import json
                from pathlib import Path

                from mdnc.checkpoint import HASHES_KEY, build_model, model_config, save_checkpoint

                net = build_model(model_config('AE1d', channel=4, layers=[1, 1]))
                save_checkpoint('run', net, best=True)
                hashes = json.loads(Path('run/config.json').read_text())[HASHES_KEY]
                print(HASHES_KEY, sorted(hashes))
            '''))],
        },
        "WEIGHTS_NAME": {
            "summary": "The name of the file of a checkpoint that holds the weights "
            "(the `state_dict`, in the safetensors format).",
            "examples": [("Example", (
                "from safetensors.torch import load_file\n\n"
                "from mdnc.checkpoint import WEIGHTS_NAME, build_model, model_config, "
                "save_checkpoint\n\nnet = build_model(model_config('AE1d', channel=4, "
                "layers=[1, 1]))\nsave_checkpoint('run', net)\nprint(WEIGHTS_NAME)\n"
                "state = load_file(f'run/{WEIGHTS_NAME}')\nprint(len(state), 'tensors, e.g.', "
                "sorted(state)[0])\n"
            ))],
        },
        "TRAINING_NAME": {
            "summary": "The name of the file of a checkpoint that holds the training state "
            "(optimizer, scheduler, ...), written only when one is saved.",
            "examples": [("Example", (
                "import os\n\nimport torch\n\nfrom mdnc.checkpoint import TRAINING_NAME, "
                "build_model, model_config, save_checkpoint\n\nnet = build_model("
                "model_config('AE1d', channel=4, layers=[1, 1]))\n"
                "save_checkpoint('inference-only', net)\n"
                "save_checkpoint('resumable', net, optimizer=torch.optim.Adam(net.parameters()))\n"
                "print(TRAINING_NAME)\nprint(sorted(os.listdir('inference-only')))\n"
                "print(sorted(os.listdir('resumable')))\n"
            ))],
        },
        "FORMAT_VERSION": {
            "summary": "The version of the checkpoint format that this mdnc writes, and the "
            "newest it reads; a checkpoint of a newer format is refused with a message asking "
            "to upgrade mdnc.",
            "examples": [("Example", (
                "import json\n\nfrom mdnc.checkpoint import FORMAT_VERSION, build_model, "
                "model_config, save_checkpoint\n\nprint(FORMAT_VERSION)\n"
                "save_checkpoint('run', build_model(model_config('AE1d', channel=4, "
                "layers=[1, 1])))\nwith open('run/config.json') as f:\n"
                "    print(json.load(f)['format_version'])\n"
            ))],
        },
        "CheckpointError": {
            "examples": [("Example", (
                "from mdnc.checkpoint import CheckpointError, load\n\ntry:\n"
                "    load('no-such-run')\nexcept CheckpointError as err:\n"
                "    print(type(err).__name__, 'is a ValueError:', isinstance(err, ValueError))\n"
                "    print(err)\n"
            ))],
        },
        "build_model": {
            "var": "net",
            "examples": [("Example", (
                "from mdnc.checkpoint import build_model, model_config\n\n"
                "config = model_config('EncoderNet1d', channel=4, layers=[1, 1], out_length=3)\n"
                "net = build_model(config)\nprint(type(net).__name__, net.nlayers)\n"
                "print(net.mdnc_config)\n"
            ))],
        },
        "load": {
            "var": "net",
            "examples": [("Example", (
                "import torch\n\nfrom mdnc.checkpoint import build_model, load, model_config, "
                "save_checkpoint\n\nnet = build_model(model_config('AE1d', channel=4, "
                "layers=[1, 1]))\nsave_checkpoint('run', net)\nloaded = load('run')\n"
                "x = torch.randn(2, 1, 100)\nprint(type(loaded).__name__, "
                "torch.equal(net.eval()(x), loaded(x)))\n"
            ))],
        },
        "load_checkpoint": {
            "var": "model, config",
            "examples": [("Example", (
                "from mdnc.checkpoint import build_model, load_checkpoint, model_config, "
                "save_checkpoint\n\nnet = build_model(model_config('UNet1d', channel=4, "
                "layers=[1, 1]))\nsave_checkpoint('run', net, extra={'epoch': 3, 'window': 256})"
                "\n\nmodel, config = load_checkpoint('run')\n"
                "print(type(model).__name__, config['class'], config['kwargs'])\n"
                "print(config['extra'])\n"
            ))],
        },
        "load_training_state": {
            "var": "state",
            "examples": [("Resume an optimizer", (
                "import torch\n\nfrom mdnc.checkpoint import build_model, load_checkpoint, "
                "load_training_state, model_config, save_checkpoint\n\n"
                "net = build_model(model_config('AE1d', channel=4, layers=[1, 1]))\n"
                "optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)\n"
                "net(torch.randn(2, 1, 64)).pow(2).mean().backward()\noptimizer.step()\n"
                "save_checkpoint('run', net, optimizer=optimizer, extra={'epoch': 1},\n"
                "                training_state={'step': 1})\n\n"
                "model, _ = load_checkpoint('run')\n"
                "resumed = torch.optim.Adam(model.parameters(), lr=1e-3)\n"
                "state = load_training_state('run')\n"
                "resumed.load_state_dict(state['optimizer'])\n"
                "print(sorted(state), state['training_state'], state['extra'])\n"
                "print(resumed.state_dict()['state'][0]['step'])\n"
            ))],
        },
        "model_config": {
            "var": "config",
            "examples": [("Example", (
                "from mdnc.checkpoint import CheckpointError, model_config\n\n"
                "print(model_config('UNet1d', channel=16, layers=(2, 2, 2, 2), kernel_size=3))\n"
                "try:\n    model_config('UNet4d', channel=16, layers=[2, 2])\n"
                "except CheckpointError as err:\n    print(err)\n"
            ))],
        },
        "read_config": {
            "var": "config",
            "examples": [("Example", (
                SAVE_TINY.replace("save_checkpoint", "read_config, save_checkpoint")
                + "save_checkpoint('run', net, extra={'window': 256})\n\n"
                "config = read_config('run')\nprint(config['class'], config['kwargs'])\n"
                "print(config['extra'], config['weights'], config['training_state'])\n"
            ))],
        },
        "save_checkpoint": {
            "var": "folder",
            "examples": [
                ("Example", (
                    "import os\n\nimport torch\n\n" + SAVE_TINY
                    + "optimizer = torch.optim.Adam(net.parameters())\n"
                    "folder = save_checkpoint('runs/a', net, optimizer=optimizer, "
                    "extra={'epoch': 1})\nprint(folder, sorted(os.listdir(folder)))\n"
                )),
                ("A network built by hand needs its config", (
                    "import mdnc\nfrom mdnc.checkpoint import model_config, save_checkpoint\n\n"
                    "net = mdnc.modules.resnet.AE1d(4, [1, 1])\ntry:\n"
                    "    save_checkpoint('runs/b', net)\nexcept ValueError as err:\n"
                    "    print(err)\nsave_checkpoint('runs/b', net, config=model_config('AE1d', "
                    "channel=4, layers=[1, 1]))\nprint(mdnc.load('runs/b').nlayers)\n"
                )),
            ],
        },
        "valid_classes": {
            "var": "names",
            "examples": [("Example", (
                "from mdnc.checkpoint import valid_classes\n\nprint(valid_classes())\n"
            ))],
        },
    },
    "mdnc.data": {
        "SUPPORTED_SUFFIXES": {
            "summary": "The file suffixes that recordings can be read from and written to "
            "(compared in lower case): NumPy `.npy`/`.npz`, HDF5 `.h5`/`.hdf5`, `.csv` "
            "(columns = channels) and the audio formats `.wav`/`.flac`.",
            "examples": [("Example", (
                "from mdnc.data import SUPPORTED_SUFFIXES\n\nprint(SUPPORTED_SUFFIXES)\n"
            ))],
        },
        "DataError": {
            "examples": [("Example", (
                "from mdnc.data import DataError, read_recording\n\n"
                "for name in ['notes.txt', 'missing.npy']:\n    try:\n"
                "        read_recording(name)\n    except DataError as err:\n"
                "        print(err)\nprint(issubclass(DataError, ValueError))\n"
            ))],
        },
        "RecordingInfo": {
            "var": "info",
            "args_section": "attributes",
            "properties": ["lazy", "nbytes"],
            "examples": [("Example", (
                "import numpy as np\n\nfrom mdnc.data import describe_recording\n\n"
                "np.save('day.npy', np.zeros((3, 86_400), np.int16))\n"
                "info = describe_recording('day.npy')\n"
                "print(info.format, info.channels, info.length, info.dtype, info.offset, "
                "info.lazy, info.nbytes)\n"
            ))],
        },
        "LazyRecording": {
            "var": "rec",
            "properties": ["shape", "name"],
            "methods": ["read", "view", "load"],
            "examples": [("Example", (
                "import numpy as np\n\nfrom mdnc.data import LazyRecording, describe_recording\n\n"
                "np.save('day.npy', np.arange(20, dtype=np.float32).reshape(2, 10))\n"
                "rec = LazyRecording(describe_recording('day.npy'))\n"
                "print(rec.shape, rec.read(2, 5).tolist())\n"
                "part = rec[:, 4:8]  # a view, still on disk\n"
                "print(part, part.read(0, 2).tolist())\n"
            ))],
        },
        "RecordingWriter": {
            "var": "writer",
            "methods": ["write", "close", "abort"],
            "examples": [("Example", (
                "import numpy as np\n\nfrom mdnc.data import RecordingWriter, read_recording\n\n"
                "x = np.arange(12, dtype=np.float32).reshape(2, 6)\n"
                "with RecordingWriter('out.h5', channels=2, length=6) as writer:\n"
                "    writer.write(x[:, :4])  # blocks in time order\n"
                "    writer.write(x[:, 4:])\n"
                "print(np.array_equal(read_recording('out.h5').data, x))\n"
            ))],
        },
        "channel_power": {
            "var": "power",
            "examples": [("Example", (
                "import numpy as np\n\nfrom mdnc.data import channel_power\n\n"
                "x = np.array([[1.0, -1.0, 1.0, -1.0], [2.0, 0.0, 2.0, 0.0]], np.float32)\n"
                "print(channel_power(x).ravel())\n"
            ))],
        },
        "describe_recording": {
            "var": "info",
            "examples": [("Example", (
                "import numpy as np\n\nfrom mdnc.data import describe_recording\n\n"
                "np.savez('trials.npz', a=np.zeros((2, 500), np.float32), b=np.zeros(300))\n"
                "for key in ('a', 'b'):\n    info = describe_recording('trials.npz', key=key)\n"
                "    print(key, info.channels, info.length, info.dtype, info.lazy)\n"
            ))],
        },
        "index_recordings": {
            "var": "infos",
            "examples": [("Example", (
                "from pathlib import Path\n\nimport numpy as np\n\n"
                "from mdnc.data import index_recordings\n\nPath('data').mkdir()\n"
                "for i in range(3):\n    np.save(f'data/r{i}.npy', np.zeros((2, 1000 * (i + 1))))\n"
                "infos = index_recordings(['data'], cache='index.json')\n"
                "print([(i.path.name, i.length) for i in infos], Path('index.json').exists())\n"
            ))],
        },
        "open_recordings": {
            "var": "recordings",
            "examples": [("Example", (
                "from pathlib import Path\n\nimport numpy as np\n\n"
                "from mdnc.data import index_recordings, open_recordings\n\n"
                "np.save('a.npy', np.zeros((1, 100)))\nPath('b.csv').write_text('1\\n2\\n3\\n')\n"
                "infos = index_recordings(['a.npy', 'b.csv'])\n"
                "print([type(r).__name__ for r in open_recordings(infos, lazy=True)])\n"
                "print([type(r).__name__ for r in open_recordings(infos, lazy=False)])\n"
            ))],
        },
        "open_writer": {
            "var": "writer",
            "examples": [("Example", (
                "import numpy as np\n\nfrom mdnc.data import open_writer, read_recording\n\n"
                "with open_writer('tone.wav', channels=1, length=8000, sample_rate=8000) as out:\n"
                "    for start in range(0, 8000, 3000):\n"
                "        t = np.arange(start, min(start + 3000, 8000)) / 8000\n"
                "        out.write(0.5 * np.sin(2 * np.pi * 440 * t)[None])\n"
                "rec = read_recording('tone.wav')\n"
                "print(rec.length, rec.sample_rate, rec.subtype)\n"
            ))],
        },
        "Recording": {
            "var": "rec",
            "args_section": "attributes",
            "properties": ["channels", "length"],
            "methods": ["with_data"],
            "method_fallback": {"with_data": {
                "data": "the new samples, array-like of shape `(channels, samples)` or "
                "`(samples,)`; converted to float32."}},
            "method_results": {"with_data": "out"},
            "examples": [("Example", (
                "import numpy as np\n\nfrom mdnc.data import read_recording, write_recording\n\n"
                "np.save('x.npy', np.arange(6, dtype=np.int16))\nrec = read_recording('x.npy')\n"
                "print(rec.format, rec.dtype, rec.ndim, rec.channels, rec.length, rec.data.dtype)\n"
                "out = rec.with_data(rec.data * 0.5)\n"
                "write_recording('half.npy', out.data, like=out)\n"
                "print(np.load('half.npy'))\n"
            ))],
        },
        "check_channels": {
            "var": "channels",
            "examples": [("Example", (
                "import numpy as np\n\nfrom mdnc.data import DataError, check_channels, "
                "read_recording\n\nnp.save('a.npy', np.zeros((2, 100)))\n"
                "np.save('b.npy', np.zeros(100))\n"
                "a, b = read_recording('a.npy'), read_recording('b.npy')\n"
                "print(check_channels([a, a]))\nfor call in (lambda: check_channels([a, b]),\n"
                "             lambda: check_channels([b], expected=2, source='the checkpoint')):\n"
                "    try:\n        call()\n    except DataError as err:\n        print(err)\n"
            ))],
        },
        "check_finite": {
            "examples": [("Example", (
                "import numpy as np\n\nfrom mdnc.data import DataError, check_finite\n\n"
                "x = np.zeros((2, 100), np.float32)\n"
                "check_finite(x, 'x.npy')  # fine: returns None\n"
                "x[1, 17] = np.nan\nx[1, 40] = np.inf\ntry:\n    check_finite(x, 'x.npy')\n"
                "except DataError as err:\n    print(err)\n"
            ))],
        },
        "find_recordings": {
            "var": "paths",
            "examples": [("Example", (
                "from pathlib import Path\n\nimport numpy as np\n\n"
                "from mdnc.data import find_recordings\n\nPath('data/more').mkdir(parents=True)\n"
                "for name in ['b.npy', 'a.csv', '.hidden.npy', 'notes.txt', 'more/c.wav.npy']:\n"
                "    np.save('data/' + name, np.zeros(4)) if name.endswith('.npy') else "
                "Path('data', name).write_text('1\\n2\\n')\n"
                "print([p.as_posix() for p in find_recordings(['data'])])\n"
                "print([p.as_posix() for p in find_recordings(['data'], recursive=True)])\n"
            ))],
        },
        "read_recording": {
            "var": "rec",
            "examples": [("A .csv file with a header", (
                "from pathlib import Path\n\nfrom mdnc.data import read_recording\n\n"
                "Path('ecg.csv').write_text('lead1,lead2\\n0.1,0.2\\n0.3,0.4\\n0.5,0.6\\n')\n"
                "rec = read_recording('ecg.csv')\n"
                "print(rec.data.shape, rec.format, rec.header, rec.delimiter)\nprint(rec.data)\n"
            ))],
        },
        "read_recordings": {
            "var": "recordings",
            "examples": [("Example", (
                "from pathlib import Path\n\nimport numpy as np\n\n"
                "from mdnc.data import read_recordings\n\nPath('data').mkdir()\n"
                "np.save('data/a.npy', np.zeros((2, 300), np.float32))\n"
                "np.savez('data/b.npz', ecg=np.ones((2, 500)))\n"
                "for rec in read_recordings(['data']):\n"
                "    print(rec.path.as_posix(), rec.format, rec.key, rec.data.shape)\n"
            ))],
        },
        "write_recording": {
            "var": "path",
            "examples": [("Keep the format of the input", (
                "import numpy as np\n\nfrom mdnc.data import read_recording, write_recording\n\n"
                "t = np.arange(8000) / 8000\nwrite_recording('tone.wav', 0.5 * np.sin(2 * np.pi "
                "* 440 * t), sample_rate=8000)\nrec = read_recording('tone.wav')\n"
                "print(rec.format, rec.sample_rate, rec.subtype, rec.data.shape)\n"
                "out = write_recording('quiet.wav', rec.data * 0.1, like=rec)\n"
                "again = read_recording(out)\nprint(out, again.sample_rate, again.subtype)\n"
            ))],
        },
        "SNR_LIMIT_DB": {
            "summary": "The largest signal-to-noise ratio, in dB, that `snr_db` reports (and "
            "its negative the smallest), so that a perfect estimate gives a finite number.",
            "examples": [("Example", (
                "import numpy as np\n\nfrom mdnc.data import SNR_LIMIT_DB, snr_db\n\n"
                "x = np.sin(np.arange(100.0))\nprint(SNR_LIMIT_DB, snr_db(x, x), "
                "snr_db(np.zeros(4), np.ones(4)))\n"
            ))],
        },
        "add_gaussian_noise": {
            "var": "noisy",
            "examples": [("Example", (
                "import numpy as np\n\nfrom mdnc.data import add_gaussian_noise, snr_db\n\n"
                "clean = np.sin(np.linspace(0, 100, 10_000))[None]\n"
                "for target in (0.0, 5.0, 20.0):\n"
                "    noisy = add_gaussian_noise(clean, target, rng=0)\n"
                "    print(target, round(snr_db(clean, noisy), 2), noisy.dtype, noisy.shape)\n"
            ))],
        },
        "noise_std": {
            "var": "std",
            "examples": [("Example", (
                "import numpy as np\n\nfrom mdnc.data import noise_std\n\n"
                "print(noise_std(1.0, 20.0))\nprint(noise_std(np.array([[1.0], [4.0]]), 0.0))\n"
            ))],
        },
        "snr_db": {
            "var": "snr",
            "examples": [("Example", (
                "import numpy as np\n\nfrom mdnc.data import snr_db\n\n"
                "clean = np.ones((2, 4))\nestimate = clean + np.array([[0.1], [0.01]])\n"
                "print(round(snr_db(clean, estimate), 3))\n"
                "print(snr_db(clean, estimate, axis=-1).round(3))\n"
            ))],
        },
        "NoiseModel": {
            "var": "model",
            "extra": "A noise model is chosen by its class attribute `name` (`--noise NAME`, "
            "`TrainConfig.noise`, the `noise` argument of [`WindowDataset`](WindowDataset.md)) "
            "among the classes registered with [`register_noise`](register_noise.md). A "
            "subclass sets `name` and implements [`sample`](#sample); its constructor's "
            "keyword arguments, if any, are the model's parameters "
            "([`get_noise_model`](get_noise_model.md) passes them on). "
            "[`add`](#add) does the scaling to the SNR, the same for every model.",
            "methods": ["sample", "add"],
            "method_results": {"sample": "noise", "add": "noisy"},
            "examples": [("A noise model with a parameter", _code('''
                import numpy as np

                from mdnc.data import NoiseModel, snr_db


                class ImpulseNoise(NoiseModel):
                    """Sparse impulses of +-1/sqrt(p), with probability p (unit power)."""

                    name = 'impulse'

                    def __init__(self, p=0.01):
                        self.p = p

                    def sample(self, shape, rng):
                        hits = rng.random(shape) < self.p
                        signs = rng.choice([-1.0, 1.0], size=shape)
                        return (hits * signs / np.sqrt(self.p)).astype(np.float32)


                model = ImpulseNoise(p=0.05)
                clean = np.sin(np.linspace(0, 100, 10_000))[None].astype(np.float32)
                noisy = model.add(clean, 10.0, rng=0)
                print(model, noisy.dtype, round(snr_db(clean, noisy), 1))
                print('samples hit:', int((noisy != clean).sum()), 'of', clean.size)
            '''))],
        },
        "GaussianNoise": {
            "var": "model",
            "base": "subclass of [`NoiseModel`](NoiseModel.md)",
            "extra": "Registered as `#!py \"gaussian\"`, the default noise model of training "
            "and of [`WindowDataset`](WindowDataset.md); "
            "[`add_gaussian_noise`](add_gaussian_noise.md) is its [`add`](NoiseModel.md#add).",
            "methods": ["sample"],
            "method_results": {"sample": "noise"},
            "examples": [("Example", _code('''
                import numpy as np

                from mdnc.data import GaussianNoise, add_gaussian_noise

                model = GaussianNoise()
                noise = model.sample((2, 100_000), np.random.default_rng(0))
                print(model, noise.dtype, noise.var(axis=-1).round(2))
                clean = np.sin(np.linspace(0, 100, 10_000))[None]
                noisy = model.add(clean, 5.0, rng=1)
                print(np.array_equal(noisy, add_gaussian_noise(clean, 5.0, rng=1)))
            '''))],
        },
        "ColouredNoise": {
            "var": "model",
            "base": "subclass of [`NoiseModel`](NoiseModel.md)",
            "extra": "Not registered itself: its subclasses [`PinkNoise`](PinkNoise.md) "
            "(`#!py alpha=1`) and [`BrownNoise`](BrownNoise.md) (`#!py alpha=2`) are, as "
            "`#!py \"pink\"` and `#!py \"brown\"`; make it directly for another exponent.",
            "methods": ["sample"],
            "method_results": {"sample": "noise"},
            "examples": [("Example", _code('''
                import numpy as np

                from mdnc.data import ColouredNoise

                model = ColouredNoise(alpha=0.5)
                noise = model.sample((2, 4096), np.random.default_rng(0))
                print(model, noise.dtype, np.mean(noise ** 2, axis=-1).round(3))
                spectrum = np.abs(np.fft.rfft(noise, axis=-1)) ** 2
                print('low / high band power:', round(spectrum[:, 1:100].mean()
                                                      / spectrum[:, -100:].mean(), 1))
            '''))],
        },
        "PinkNoise": {
            "var": "model",
            "base": "subclass of [`ColouredNoise`](ColouredNoise.md)",
            "extra": "Registered as `#!py \"pink\"` (`--noise pink`).",
            "examples": [("Example", _code('''
                import numpy as np

                from mdnc.data import PinkNoise, get_noise_model, snr_db

                model = get_noise_model('pink')
                clean = np.sin(np.linspace(0, 100, 10_000))[None]
                noisy = model.add(clean, 10.0, rng=0)
                print(model, isinstance(model, PinkNoise), round(snr_db(clean, noisy), 2))
            '''))],
        },
        "BrownNoise": {
            "var": "model",
            "base": "subclass of [`ColouredNoise`](ColouredNoise.md)",
            "extra": "Registered as `#!py \"brown\"` (`--noise brown`).",
            "examples": [("Example", _code('''
                import numpy as np

                from mdnc.data import BrownNoise, get_noise_model, snr_db

                model = get_noise_model('brown')
                clean = np.sin(np.linspace(0, 100, 10_000))[None]
                noisy = model.add(clean, 10.0, rng=0)
                print(model, isinstance(model, BrownNoise), round(snr_db(clean, noisy), 2))
            '''))],
        },
        "HumNoise": {
            "var": "model",
            "base": "subclass of [`NoiseModel`](NoiseModel.md)",
            "extra": "Registered as `#!py \"hum\"` (`--noise hum`).",
            "methods": ["sample"],
            "method_results": {"sample": "noise"},
            "examples": [("Example", _code('''
                import numpy as np

                from mdnc.data import HumNoise

                model = HumNoise(hum_hz=60.0, sample_rate=1000.0, harmonics=3)
                hum = model.sample((1, 1000), np.random.default_rng(0))[0]
                spectrum = np.abs(np.fft.rfft(hum))
                freqs = np.fft.rfftfreq(1000, d=1 / 1000)
                print(model)
                print('peaks (Hz):', sorted(freqs[np.argsort(spectrum)[-3:]].tolist()))
            '''))],
        },
        "ImpulsiveNoise": {
            "var": "model",
            "base": "subclass of [`NoiseModel`](NoiseModel.md)",
            "extra": "Registered as `#!py \"impulsive\"` (`--noise impulsive`).",
            "methods": ["sample"],
            "method_results": {"sample": "noise"},
            "examples": [("Example", _code('''
                import numpy as np

                from mdnc.data import ImpulsiveNoise

                model = ImpulsiveNoise(rate=0.05, distribution='laplace')
                noise = model.sample((4, 10_000), np.random.default_rng(0))
                print(model)
                print('spikes:', round(float(np.mean(noise != 0)), 3),
                      'power:', round(float(np.mean(noise ** 2)), 2))
            '''))],
        },
        "RecordedNoise": {
            "var": "model",
            "base": "subclass of [`NoiseModel`](NoiseModel.md)",
            "extra": "Made from the arrays (on the command line, from `--noise-files`), not "
            "by name: it is not registered.",
            "methods": ["sample"],
            "method_results": {"sample": "noise"},
            "properties": ["channels"],
            "examples": [("Noise recordings as the noise of the training windows", _code('''
                import numpy as np

                from mdnc.data import RecordedNoise, WindowDataset, make_synthetic, snr_db

                rng = np.random.default_rng(0)
                quiet, loud = rng.normal(size=(2, 8000)), 3 * rng.normal(size=(2, 4000))
                model = RecordedNoise([quiet, loud], names=['quiet.npy', 'loud.npy'])
                noise = model.sample((1000, 2, 256), rng)
                print(model, model.channels, np.mean(noise ** 2).round(2))
                windows = WindowDataset(make_synthetic(4, 2000, channels=2), window=500,
                                        snr_db=5.0, noise=model, seed=0)
                pairs = [windows[i] for i in range(len(windows))]
                x, y = (np.stack([p[k].numpy() for p in pairs]) for k in (0, 1))
                print(x.shape, round(snr_db(y, x), 1))
                try:
                    RecordedNoise([quiet, loud[:1]], names=['quiet.npy', 'loud.npy'])
                except ValueError as err:
                    print(err)
            '''))],
        },
        "get_noise_model": {
            "var": "model",
            "fallback": {
                "name": "a registered name (see [`list_noise_models`](list_noise_models.md)).",
                "params": "the model's parameters: keyword arguments of its class.",
            },
            "types": {"params": "dict"},
            "returns": "An instance of the class registered as `name`.",
            "examples": [("Example", _code('''
                import numpy as np

                from mdnc.data import get_noise_model, snr_db

                model = get_noise_model('gaussian')
                clean = np.sin(np.linspace(0, 100, 10_000))[None]
                print(model, round(snr_db(clean, model.add(clean, 5.0, rng=0)), 2))
                for name, params in (('purple', {}), ('gaussian', {'sigma': 2})):
                    try:
                        get_noise_model(name, **params)
                    except ValueError as err:
                        print(err)
            '''))],
        },
        "list_noise_models": {
            "var": "names",
            "examples": [("Example", _code('''
                from mdnc.data import list_noise_models

                print(list_noise_models())
            '''))],
        },
        "register_noise": {
            "var": "cls",
            "fallback": {"cls": "a [`NoiseModel`](NoiseModel.md) subclass with a class "
                         "attribute `name`."},
            "returns": "The class, unchanged.",
            "extra": "The model is then a choice of `TrainConfig.noise`, of `mdnc train "
            "--noise` and of the `noise` argument of [`WindowDataset`](WindowDataset.md); it "
            "must be registered in every process that uses it (import the module that "
            "defines it).",
            "examples": [("A new noise model, drawn through the training windows", _code('''
                import numpy as np

                from mdnc.data import (NoiseModel, WindowDataset, list_noise_models, make_synthetic,
                                       noise, register_noise)


                @register_noise
                class UniformNoise(NoiseModel):
                    """White noise, uniform on [-sqrt(3), sqrt(3)] (unit power)."""

                    name = 'uniform'

                    def sample(self, shape, rng):
                        return rng.uniform(-np.sqrt(3), np.sqrt(3), size=shape).astype(np.float32)


                try:
                    print(list_noise_models())
                    for name in list_noise_models():
                        windows = WindowDataset(make_synthetic(1, 4000), window=4000, snr_db=0.0,
                                                noise=name, seed=0)
                        x, y = windows[0]
                        added = (x - y).numpy()
                        ratio = float(abs(added).max() / added.std())
                        print(name, 'largest / std:', round(ratio, 2))
                finally:  # this page's examples share a process with others
                    noise._NOISE_MODELS.unregister('uniform')
                print(list_noise_models())
            '''))],
        },
        "FAMILIES": {
            "summary": "The names of the signal families of the built-in synthetic data set, "
            "in the order the recordings of `make_synthetic` cycle through them.",
            "examples": [("Example", (
                "from mdnc.data import FAMILIES\n\nprint(FAMILIES)\n"
            ))],
        },
        "make_synthetic": {
            "var": "recordings",
            "examples": [("Example", (
                "import numpy as np\n\nfrom mdnc.data import make_synthetic\n\n"
                "data = make_synthetic(10, 2000, channels=2, seed=0)\n"
                "print(len(data), data[0].shape, data[0].dtype)\n"
                "print(np.round(data[3].mean(axis=1), 6) + 0, np.round(data[3].std(axis=1), 6))\n"
                "print(all(np.array_equal(a, b) for a, b in zip(make_synthetic(5, 2000, "
                "channels=2), data)))\n"
            ))],
        },
        "synthetic_signal": {
            "var": "x",
            "examples": [("Example", (
                "import numpy as np\n\nfrom mdnc.data import FAMILIES, synthetic_signal\n\n"
                "for family in FAMILIES:\n    x = synthetic_signal(family, 1000, channels=2, "
                "rng=0)\n    print(f'{family:>6}', x.shape, np.round(x[:, :3], 3).tolist())\n"
            ))],
        },
        "WindowDataset": {
            "var": "dataset",
            "operators": [
                {"name": "__len__", "call": "n = len(dataset)",
                 "text": "The number of items: on the regular grid the windows of every "
                 "recording, recording after recording (the same with `random_offsets`).",
                 "returns": [("n", "The number of windows, an `#!py int`.")]},
                {"name": "__getitem__", "call": "x, y = dataset[index]",
                 "text": "One `(input, target)` pair of float32 tensors of size "
                 "`#!py (channels, window)`; with `#!py return_stats=True` also the input "
                 "window's `mean` and `std`, of size `#!py (channels, 1)`.",
                 "requires": [("index", "int", "An item index in `[0, len(dataset))`; "
                               "negative counts from the end.")],
                 "returns": [("x", "The input window (noisy, or the clean one)."),
                             ("y", "The target window (clean).")]},
            ],
            "methods": ["set_epoch", "locate"],
            "method_results": {"locate": "recording, start"},
            "examples": [
                ("Denoising windows", (
                    "import numpy as np\n\nfrom mdnc.data import WindowDataset, make_synthetic\n\n"
                    "data = make_synthetic(3, 1000, channels=2)\n"
                    "ds = WindowDataset(data, window=256, hop=128, snr_db=5.0, seed=0)\n"
                    "x, y = ds[0]\nprint(len(ds), tuple(x.shape), x.dtype, ds.locate(8))\n"
                    "ds.set_epoch(1)  # at the start of every epoch: new noise\n"
                    "print(bool((ds[0][0] != x).any()), bool((ds[0][1] == y).all()))\n"
                )),
                ("With a DataLoader", (
                    "import torch\n\nfrom mdnc.data import WindowDataset, make_synthetic\n\n"
                    "ds = WindowDataset(make_synthetic(4, 2000), window=512, snr_db=0.0,\n"
                    "                   random_offsets=True, standardize=True, seed=1)\n"
                    "loader = torch.utils.data.DataLoader(ds, batch_size=4, shuffle=True)\n"
                    "for epoch in range(2):\n    ds.set_epoch(epoch)\n"
                    "    for x, y in loader:\n        pass\n"
                    "    print(epoch, tuple(x.shape), round(float(x.mean()), 4) + 0,\n"
                    "          round(float(x.std(dim=-1, correction=0).mean()), 4))\n"
                )),
            ],
        },
        "WindowStats": {
            "var": "stats",
            "args_section": "attributes",
            "examples": [("Example", (
                "import numpy as np\n\nfrom mdnc.data import WindowStats, standardize\n\n"
                "x = np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]])\ny, stats = standardize(x)\n"
                "print(isinstance(stats, WindowStats), stats.mean.ravel(), stats.std.ravel())\n"
                "mean, std = stats  # a named tuple\n"
            ))],
        },
        "standardize": {
            "var": "y, stats",
            "examples": [("Example", (
                "import numpy as np\nimport torch\n\nfrom mdnc.data import destandardize, "
                "standardize\n\nx = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)\n"
                "y, stats = standardize(x)\nprint(y.round(4), y.dtype)\n"
                "print(np.allclose(destandardize(y, stats), x))\n"
                "batch = torch.arange(12.0).reshape(2, 2, 3)  # (B, C, L)\n"
                "yb, sb = standardize(batch)\nprint(tuple(yb.shape), tuple(sb.mean.shape))\n"
            ))],
        },
        "destandardize": {
            "var": "x",
            "examples": [("Map a model's output back", (
                "import torch\n\nimport mdnc\nfrom mdnc.data import destandardize, standardize\n\n"
                "net = mdnc.modules.resnet.AE1d(4, [1, 1]).eval()\n"
                "x = 100 + 5 * torch.randn(2, 1, 64)\nz, stats = standardize(x)\n"
                "with torch.no_grad():\n    out = destandardize(net(z), stats)\n"
                "print(tuple(out.shape), out.dtype, round(float(z.mean()), 4) + 0)\n"
            ))],
        },
        "window_starts": {
            "var": "starts",
            "examples": [("Example", (
                "from mdnc.data import window_starts\n\n"
                "print(window_starts(10, 4, 3).tolist())\n"
                "print(window_starts(11, 4, 3).tolist())  # one more window for the tail\n"
                "print(window_starts(3, 4, 3).tolist())   # shorter than a window\n"
            ))],
        },
    },
    "mdnc.training": {
        "SelfSupervisedOptions": {
            "args_section": "attributes",
            "examples": [("Example", _code('''
                from mdnc.training import SelfSupervisedOptions, TrainConfig

                options = SelfSupervisedOptions(blind_spot=3)
                print(options.network_shape())
                config = TrainConfig(objective='self-supervised', objective_options=options)
                print(config.flat()['blind_spot'], config.model_config(1)['kwargs']['blind_spot'])
            '''))],
        },
        "Noise2NoiseOptions": {
            "args_section": "attributes",
            "examples": [("Example", _code('''
                from mdnc.training import Noise2NoiseOptions, TrainConfig

                config = TrainConfig.from_flat({'objective': 'noise2noise', 'pair_mixing': 4})
                print(config.objective_options == Noise2NoiseOptions(pair_mixing=4))
            '''))],
        },
        "SupervisedOptions": {
            "examples": [("Example", _code('''
                from mdnc.training import SupervisedOptions, TrainConfig

                print(TrainConfig().objective_options == SupervisedOptions())
            '''))],
        },
        "ObjectiveOptions": {
            "examples": [("Example", _code('''
                from mdnc.training import ObjectiveOptions, SelfSupervisedOptions

                print(issubclass(SelfSupervisedOptions, ObjectiveOptions))
                print(SelfSupervisedOptions.legacy)
            '''))],
        },
        "unregister_objective": {
            "examples": [("Example", _code('''
                from mdnc.training import (SupervisedObjective, list_objectives, register_objective,
                                           unregister_objective)


                @register_objective
                class Mine(SupervisedObjective):
                    name = 'mine'


                print('mine' in list_objectives())
                unregister_objective('mine')
                print('mine' in list_objectives())
            '''))],
        },
        "CONFIG_TOML": {
            "summary": "The name of the file of a run folder that holds the run's "
            "options.\n\nTwo tables: `[data]`, where the recordings came from (a "
            "[`DataConfig`](DataConfig.md), paths made absolute; only when the run was given "
            "one, as `mdnc train` does), and `[train]`, every [`TrainConfig`](TrainConfig.md) "
            "option, defaults included. Options whose default is derived (`hop`: half the "
            "window; `epochs`: the default schedule) stay unset, so that they follow a changed "
            "window or data set, and a comment at the end of the file says what they resolved "
            "to. "
            "The [`Trainer`](Trainer.md) writes it at set-up; `mdnc train --config "
            "RUN/config.toml --out NEW` repeats the run, and [`read_toml`](read_toml.md) reads "
            "it.",
            "examples": [("The options of a run, read back", _code('''
                from mdnc.data import make_synthetic
                from mdnc.training import CONFIG_TOML, TrainConfig, read_toml, train

                config = TrainConfig(channel=4, layers=[1, 1], window=128, batch_size=4, epochs=1,
                                     snr_db=5.0)
                train(config, make_synthetic(6, 600), out='run', progress=False)
                print(CONFIG_TOML)
                saved = read_toml(f'run/{CONFIG_TOML}')['train']
                print(saved['window'], 'hop' in saved)  # hop is derived: left unset
                print(TrainConfig(**saved) == config)
                print(open(f'run/{CONFIG_TOML}').read().splitlines()[-1])
            '''))],
        },
        "METRICS_NAME": {
            "summary": "The name of the report file of a run folder, rewritten after every "
            "epoch.\n\nIt holds the per-epoch rows (losses, learning rate and, on the held-out "
            "recordings, `snr_in_db`, `snr_out_db`, `snr_gain_db`), the last epoch's values at "
            "the top, and the options (`config`); non-finite numbers are written as `null`, so "
            "that the file is valid JSON.",
            "examples": [("Example", _code('''
                import json

                from mdnc.data import make_synthetic
                from mdnc.training import METRICS_NAME, TrainConfig, train

                config = TrainConfig(channel=4, layers=[1, 1], window=128, batch_size=4, epochs=2,
                                     snr_db=5.0)
                train(config, make_synthetic(6, 600), out='run', progress=False)
                with open(f'run/{METRICS_NAME}') as f:
                    metrics = json.load(f)
                print(METRICS_NAME, sorted(metrics))
                print([row['epoch'] for row in metrics['epochs']], metrics['config']['window'])
            '''))],
        },
        "Batch": {
            "var": "batch",
            "args_section": "attributes",
            "extra": "What [`Objective.batch`](Objective.md#batch) makes of a loader batch, "
            "and what [`Objective.loss`](Objective.md#loss) scores. A masking scheme sets "
            "`weight` so that only some samples count.",
            "examples": [("A weight selects the samples that count", _code('''
                import torch

                from mdnc.training import Batch, TrainConfig, get_objective

                objective = get_objective(TrainConfig())
                output = torch.zeros(1, 1, 4)
                target = torch.tensor([[[1.0, 1.0, 3.0, 3.0]]])
                print(float(objective.loss(output, Batch(output, target))))  # (1 + 1 + 9 + 9) / 4
                mask = torch.tensor([[[1.0, 1.0, 0.0, 0.0]]])
                print(float(objective.loss(output, Batch(output, target, weight=mask))))
            '''))],
        },
        "DivergenceError": {
            "examples": [("Example", _code('''
                from mdnc.training import DivergenceError

                print(issubclass(DivergenceError, ValueError))
            '''))],
        },
        "RunInUseError": {
            "examples": [("Example", _code('''
                from mdnc.training import ConfigError, RunInUseError

                print(issubclass(RunInUseError, ConfigError))
            '''))],
        },
        "ConfigError": {
            "examples": [("Example", _code('''
                from mdnc.training import ConfigError, TrainConfig

                for options in ({'window': 0}, {'arch': 'UNet2d'}, {'lr': -1}, {'amp': 'yes'}):
                    try:
                        TrainConfig(**options)
                    except ConfigError as err:
                        print(err)
                print(issubclass(ConfigError, ValueError))
            '''))],
        },
        "DataConfig": {
            "var": "source",
            "args_section": "attributes",
            "defaults": {"paths": "[]", "noisy": "[]", "synthetic": "[100, 2000]"},
            "extra": "The `[data]` table of a run's [`config.toml`](CONFIG_TOML.md), and the "
            "data options of `mdnc train` (generated from these fields). "
            "[`train`](train.md) only stores it (argument `source`): the recordings themselves "
            "are given to it as arrays.",
            "methods": ["resolved"],
            "method_results": {"resolved": "source"},
            "examples": [("Example", _code('''
                from pathlib import Path

                from mdnc.training import ConfigError, DataConfig

                print(DataConfig())
                source = DataConfig(paths=['recordings/a.npz'], key='ecg')
                print([Path(p).is_absolute() for p in source.resolved().paths])
                try:
                    DataConfig(noisy=['noisy.npy'])
                except ConfigError as err:
                    print(err)
            '''))],
        },
        "Objective": {
            "var": "objective",
            "extra": OBJECTIVE_TEXT,
            "methods": ["check", "settle", "denoising", "training_windows", "evaluation",
                        "validation_windows", "batch", "training_batch", "loss",
                        "loss_count"],
            "method_fallback": OBJECTIVE_METHOD_ARGS,
            "method_results": OBJECTIVE_RESULTS,
            "examples": [("The steps of the default objective", _code('''
                import torch

                from mdnc.data import make_synthetic
                from mdnc.training import SplitData, TrainConfig, get_objective

                objective = get_objective(TrainConfig(window=128, snr_db=5.0))
                data = SplitData(train=make_synthetic(4, 600),
                                 held_out=make_synthetic(1, 600, seed=1))
                objective.check(data)
                windows = objective.training_windows(data)
                references, inputs = objective.evaluation(data)
                validation = objective.validation_windows(data, inputs)
                print(objective.name, objective.noise, objective.denoising(paired=False))
                print(len(windows), len(references), inputs[0].shape, len(validation))
                loader = torch.utils.data.DataLoader(windows, batch_size=4)
                batch = objective.batch(next(iter(loader)), torch.device('cpu'))
                print(tuple(batch.input.shape), round(float(objective.loss(batch.input, batch)), 3))
            '''))],
        },
        "SplitData": {
            "var": "data",
            "args_section": "attributes",
            "extra": "What an [`Objective`](Objective.md) receives: the [`Trainer`](Trainer.md) "
            "checks the recordings and splits them ([`split_recordings`](split_recordings.md)) "
            "before the objective makes windows of them.",
            "properties": ["channels"],
            "examples": [("Example", _code('''
                from mdnc.data import make_synthetic
                from mdnc.training import SplitData, split_recordings

                recordings = make_synthetic(5, 400, channels=2)
                train, held_out, _, _ = split_recordings(recordings, 0.2, seed=0)
                data = SplitData(train, held_out)
                print(len(data.train), len(data.held_out), data.channels, data.train_noisy)
            '''))],
        },
        "SupervisedObjective": {
            "var": "objective",
            "base": "subclass of [`Objective`](Objective.md)",
            "extra": "Registered as `#!py \"supervised\"`, the default of "
            "[`TrainConfig.objective`](TrainConfig.md). Subclass it to change one step only, "
            "e.g. the loss (see [`register_objective`](register_objective.md)).",
            "methods": ["check", "denoising", "training_windows", "evaluation",
                        "validation_windows"],
            "method_fallback": OBJECTIVE_METHOD_ARGS,
            "method_results": OBJECTIVE_RESULTS,
            "examples": [("Added noise, paired recordings, or reconstruction", _code('''
                from mdnc.data import make_synthetic
                from mdnc.training import ConfigError, SplitData, SupervisedObjective, TrainConfig

                for snr in (5.0, None):
                    objective = SupervisedObjective(TrainConfig(snr_db=snr))
                    print(f'snr_db={snr}: denoising with pairs', objective.denoising(paired=True),
                          'without', objective.denoising(paired=False))
                clean = make_synthetic(3, 600)
                noisy = [c + 0.1 for c in clean]
                data = SplitData(clean[:2], clean[2:], train_noisy=noisy[:2],
                                 held_out_noisy=noisy[2:])
                try:
                    SupervisedObjective(TrainConfig(snr_db=5.0)).check(data)
                except ConfigError as err:
                    print(err)
            '''))],
        },
        "SelfSupervisedObjective": {
            "var": "objective",
            "base": "subclass of [`Objective`](Objective.md)",
            "extra": "Registered as `#!py \"self-supervised\"` (`mdnc train --objective "
            "self-supervised`). It trains on noisy recordings alone: give them as `clean` to "
            "[`train`](train.md) (the `DATA` of `mdnc train`), with no `snr_db` and no paired "
            "recordings ([`check`](#check) refuses both). When their clean truth is known "
            "(synthetic data), pass it as `truth`: the held-out recordings are then scored "
            "against it (SNR, baselines), never trained on.\n\n"
            "With `TrainConfig.arch` unset the network is a "
            "[`BlindSpotNet1d`](../modules/blindspot/BlindSpotNet1d.md), whose output at a "
            "sample never sees that sample (nor `blind_spot // 2` on either side): its input "
            "is the noisy window itself and the loss counts every sample: about 4000 optimizer "
            "steps as in supervised training, but up to 200 epochs. With another network "
            "(`arch=\"UNet1d\"`), `blind_spot`, `mask_fraction` and `mask_radius` of its "
            "options ([`SelfSupervisedOptions`](SelfSupervisedOptions.md)) set the masking "
            "of its input "
            "([`blind_spot_mask`](blind_spot_mask.md)); the validation loss masks the held-out "
            "windows with the same draws every epoch and with 4 masks each "
            "(`validation_passes`), and since a step learns from the masked samples only the "
            "schedule is longer: about 8000 optimizer steps, up to 200 epochs (`target_steps`, "
            "`max_epochs`; see [`auto_epochs`](auto_epochs.md)). Either way every window gets "
            "a random sign and direction, so that the network cannot learn the noise of the "
            "training recordings by heart; a `blind_spot` of a few samples suits noise "
            "correlated over as many samples.",
            "methods": ["check", "denoising", "training_windows", "evaluation",
                        "validation_windows", "batch"],
            "method_fallback": OBJECTIVE_METHOD_ARGS,
            "method_results": OBJECTIVE_RESULTS,
            "examples": [("Blind-spot network or masked windows; added noise refused", _code('''
                import torch

                from mdnc.data import add_gaussian_noise, make_synthetic
                from mdnc.training import (ConfigError, SelfSupervisedObjective, SplitData,
                                           TrainConfig)

                clean = make_synthetic(3, 600)
                noisy = [add_gaussian_noise(c, 5.0, rng=i) for i, c in enumerate(clean)]
                data = SplitData(train=noisy[:2], held_out=noisy[2:])
                try:
                    config = TrainConfig(objective='self-supervised', snr_db=5.0)
                    SelfSupervisedObjective(config).check(data)
                except ConfigError as err:
                    print(err)
                config = TrainConfig(objective='self-supervised', window=128)
                objective = SelfSupervisedObjective(config)
                objective.check(data)
                loader = torch.utils.data.DataLoader(objective.training_windows(data), batch_size=4)
                batch = objective.batch(next(iter(loader)), torch.device('cpu'))
                print('blind-spot network:', objective.blind, 'loss weights:', batch.weight,
                      'input is target:', batch.input is batch.target)
                config = TrainConfig(objective='self-supervised', window=128, arch='UNet1d')
                objective = SelfSupervisedObjective(config)
                batch = objective.batch(next(iter(loader)), torch.device('cpu'))
                print(objective.name, tuple(batch.input.shape),
                      'masked fraction:', float(batch.weight.mean()))
                hidden = batch.weight == 1
                print('input = target but where masked:',
                      torch.equal(batch.input[~hidden], batch.target[~hidden]))
                print('the loss counts', int(objective.loss_count(batch)), 'masked samples')
            '''))],
        },
        "Noise2NoiseObjective": {
            "var": "objective",
            "base": "subclass of [`Objective`](Objective.md)",
            "extra": "Registered as `#!py \"noise2noise\"` (`mdnc train --objective noise2noise "
            "--noisy-pair`). Give the first recordings as `clean` and the second ones as "
            "`noisy` to [`train`](train.md) (`DATA` and `--noisy-pair` on the command line), "
            "one pair per signal, in the same order; `snr_db` is refused "
            "([`check`](#check)). Every training batch puts each pair in a random order, so "
            "that both directions are training examples, and, when the noise is white, "
            "recombines the two copies sample by sample ([`training_batch`](#training_batch), "
            "[`recombine_pairs`](recombine_pairs.md)): every step then sees a new combination "
            "of the two noises. `pair_mixing` ([`Noise2NoiseOptions`](Noise2NoiseOptions.md), "
            "`--pair-mixing`) sets the "
            "runs' length; unset, [`settle`](#settle) chooses 1 when the pairs' difference "
            "(their noise alone) is white ([`pair_difference_whiteness`]"
            "(pair_difference_whiteness.md)), else 0 (whole windows: recombining correlated "
            "noise would leak the input's noise into the target). As for "
            "[`SelfSupervisedObjective`](SelfSupervisedObjective.md), a known clean truth "
            "(`truth`) is used to score the held-out recordings, never to train.",
            "methods": ["check", "settle", "denoising", "training_windows", "evaluation",
                        "validation_windows", "batch", "training_batch"],
            "method_fallback": OBJECTIVE_METHOD_ARGS,
            "method_results": OBJECTIVE_RESULTS,
            "examples": [("Two noisy trials of the same signals", _code('''
                import torch

                from mdnc.data import add_gaussian_noise, make_synthetic
                from mdnc.training import ConfigError, Noise2NoiseObjective, SplitData, TrainConfig

                clean = make_synthetic(3, 600)
                first = [add_gaussian_noise(c, 5.0, rng=i) for i, c in enumerate(clean)]
                second = [add_gaussian_noise(c, 5.0, rng=10 + i) for i, c in enumerate(clean)]
                objective = Noise2NoiseObjective(TrainConfig(objective='noise2noise', window=128))
                try:
                    objective.check(SplitData(train=first[:2], held_out=first[2:]))
                except ConfigError as err:
                    print(err)
                data = SplitData(train=first[:2], held_out=first[2:], train_noisy=second[:2],
                                 held_out_noisy=second[2:], held_out_truth=clean[2:])
                objective.check(data)
                loader = torch.utils.data.DataLoader(objective.training_windows(data), batch_size=8)
                a, b = next(iter(loader))  # windows of the second and of the first recordings
                generator = torch.Generator().manual_seed(0)
                batch = objective.batch((a, b), torch.device('cpu'), generator)
                # Up to a sign and a direction, the same for both windows of a pair:
                same = lambda u, v: any(torch.equal(u, f) for f in (v, -v, v.flip(-1), -v.flip(-1)))
                swapped = [same(batch.input[i], b[i]) for i in range(len(a))]
                pairs = all(same(batch.target[i], a[i] if s else b[i])
                            for i, s in enumerate(swapped))
                print('pairs kept:', pairs, '- in the other order:', sum(swapped), 'of', len(a))
                references, inputs = objective.evaluation(data)
                print('scored against the truth:', references is data.held_out_truth)
                print('white noise, recombined sample by sample:', objective.settle(data))
                torch.manual_seed(0)
                step = objective.training_batch((a, b), torch.device('cpu'))
                # The pair's sign and direction, then each sample of the input from either copy:
                flips = (lambda v: v, lambda v: -v, lambda v: v.flip(-1), lambda v: -v.flip(-1))
                f = next(f for f in flips if torch.equal(step.input[0] + step.target[0],
                                                         f(a[0] + b[0])))
                from_a = int((step.input[0] == f(a[0])).sum())
                print('samples of the first input window from each copy:', from_a, 'and',
                      a.shape[-1] - from_a)
            '''))],
        },
        "TrainConfig": {
            "var": "config",
            "args_section": "attributes",
            "defaults": {"layers": "[2, 2, 2, 2]"},
            "extra": "Every option is documented once, in its field: the table below, "
            "`mdnc train --help` and the `[train]` table of the TOML files "
            "([`read_toml`](read_toml.md), [`write_toml`](write_toml.md)) are made from it.",
            "methods": ["model_config"],
            "method_fallback": {"model_config": {
                "channels": "the channel count of the recordings (the network's `in_planes` "
                "and `out_planes`)."}},
            "method_results": {"model_config": "recipe"},
            "examples": [("Example", (
                "import dataclasses\n\nfrom mdnc.training import ConfigError, TrainConfig\n\n"
                "config = TrainConfig(snr_db=5.0, epochs=20)\n"
                "print(dataclasses.asdict(config))\nprint(config.model_config(2))\n"
                "try:\n    TrainConfig(arch='UNet2d')\nexcept ConfigError as err:\n"
                "    print(err)\n"
            ))],
        },
        "Trainer": {
            "var": "trainer",
            "extra": TRAINER_TEXT,
            "methods": ["fit", "setup", "setup_device", "setup_data", "setup_model",
                        "setup_optimizer", "restore", "init_from", "run_epoch", "train_epoch",
                        "validate", "setup_baselines", "save", "best_epoch", "write_report",
                        "close"],
            "method_fallback": {
                "init_from": {"run": "the run folder (or its `config.json`) whose weights to "
                              "start from."},
                "run_epoch": {"epoch": "the index of the epoch, from 0."},
                "train_epoch": {"epoch": "the index of the epoch, from 0 (it seeds the "
                                "windows' offsets and noise, and the sampler)."},
                "write_report": {
                    "outputs": "the network's outputs on the held-out recordings (from "
                    "[`validate`](#validate)), drawn in `examples.png`.",
                    "last": "whether this is the last epoch (the pictures are then drawn "
                    "whatever the time since the last ones).",
                },
            },
            "method_results": {"fit": "metrics", "train_epoch": "loss",
                               "validate": "row, outputs", "best_epoch": "best"},  # fmt: skip
            "examples": [
                ("A tiny run", _code('''
                    import os

                    from mdnc.data import make_synthetic
                    from mdnc.training import TrainConfig, Trainer

                    config = TrainConfig(channel=4, layers=[1, 1], window=128, batch_size=4,
                                         epochs=1, snr_db=5.0)
                    trainer = Trainer(config, make_synthetic(6, 600), 'runs/tiny', progress=False)
                    metrics = trainer.fit()
                    print(sorted(trainer.history[-1]))
                    print(type(trainer.model).__name__, trainer.objective.name,
                          len(trainer.dataset), 'training windows')
                    print(sorted(os.listdir('runs/tiny')))
                ''')),
                ("One step changed in a subclass", _code('''
                    from mdnc.data import make_synthetic
                    from mdnc.training import TrainConfig, Trainer


                    class PeakTrainer(Trainer):
                        """Adds the largest output on the held-out recordings to each row."""

                        def validate(self):
                            row, outputs = super().validate()
                            row['peak_out'] = max(float(abs(o).max()) for o in outputs)
                            return row, outputs


                    config = TrainConfig(channel=4, layers=[1, 1], window=128, batch_size=4,
                                         epochs=2, snr_db=5.0)
                    trainer = PeakTrainer(config, make_synthetic(6, 600), 'runs/peak',
                                          progress=False)
                    metrics = trainer.fit()
                    print(sorted(metrics['epochs'][-1]))
                ''')),
            ],
        },
        "train": {
            "var": "metrics",
            "examples": [("A tiny run", (
                "import os\n\nfrom mdnc.data import make_synthetic\n"
                "from mdnc.training import TrainConfig, train\n\n"
                "config = TrainConfig(channel=4, layers=[1, 1], window=128, epochs=2, "
                "snr_db=5.0)\nmetrics = train(config, make_synthetic(10, 1000), out='runs/py', "
                "progress=False)\nprint(sorted(os.listdir('runs/py')))\n"
                "print(len(metrics['epochs']), sorted(metrics['epochs'][-1]))\n"
            ))],
        },
        "auto_epochs": {
            "var": "epochs",
            "fallback": {
                "steps_per_epoch": "optimizer steps in one epoch (training windows divided by "
                "the batch size).",
                "target_steps": "the number of optimizer steps to aim at.",
                "max_epochs": "the most epochs (the least is 10).",
            },
            "returns": "The number of epochs: `ceil(target_steps / steps_per_epoch)`, kept "
            "between 10 and `max_epochs`.",
            "extra": "The [`Trainer`](Trainer.md) calls it when `epochs` is unset, with the "
            "objective's class attributes `target_steps` and `max_epochs` (4000 and 60; "
            "[`SelfSupervisedObjective`](SelfSupervisedObjective.md): 8000 and 200).",
            "examples": [("Example", (
                "from mdnc.training import auto_epochs\n\n"
                "for steps in (10, 30, 100, 390, 1000):\n"
                "    print(steps, 'steps an epoch ->', auto_epochs(steps), 'epochs')\n"
                "print('self-supervised, 30 steps an epoch ->',\n"
                "      auto_epochs(30, target_steps=8000, max_epochs=200), 'epochs')\n"
            ))],
        },
        "blind_spot_mask": {
            "var": "masked, mask",
            "extra": "The masking of [`SelfSupervisedObjective`](SelfSupervisedObjective.md), "
            "with `mask_fraction`, `blind_spot` (`width`) and `mask_radius` of its "
            "[`SelfSupervisedOptions`](SelfSupervisedOptions.md).",
            "examples": [("Example", _code('''
                import torch

                from mdnc.training import blind_spot_mask

                x = torch.randn(2, 3, 64)  # 2 windows of 3 channels
                masked, mask = blind_spot_mask(x, fraction=1 / 8, width=2)
                print(tuple(mask.shape), 'masked per window:', mask[:, 0].sum(-1).int().tolist())
                print('the same samples in every channel:', bool((mask == mask[:, :1]).all()))
                kept = mask == 0
                print('unmasked samples unchanged:', torch.equal(masked[kept], x[kept]))
                print('masked samples replaced:', bool((masked[~kept] != x[~kept]).all()))
                print(mask[0, 0, :32].int().tolist())
                g1, g2 = (torch.Generator().manual_seed(1) for _ in range(2))
                print('the same draws with the same generator:',
                      torch.equal(blind_spot_mask(x, 0.125, generator=g1)[1],
                                  blind_spot_mask(x, 0.125, generator=g2)[1]))
                try:
                    blind_spot_mask(x[..., :2], fraction=0.5, width=2)
                except ValueError as err:
                    print(err)
            '''))],
        },
        "recombine_pairs": {
            "var": "x, y",
            "extra": "The recombination of [`Noise2NoiseObjective`](Noise2NoiseObjective.md)'s "
            "training batches, with `pair_mixing` ([`Noise2NoiseOptions`](Noise2NoiseOptions.md)) "
            "as `run`.",
            "examples": [("Example", _code('''
                import torch

                from mdnc.training import recombine_pairs

                a, b = torch.zeros(2, 3, 12), torch.ones(2, 3, 12)  # 2 windows of 3 channels
                x, y = recombine_pairs(a, b, 3)
                print(x[0, 0].int().tolist())
                print('each sample from one copy each:', torch.equal(x + y, a + b))
                print('the same runs in every channel:', bool((x == x[:, :1]).all()))
            '''))],
        },
        "pair_difference_whiteness": {
            "var": "whiteness",
            "extra": "What [`Noise2NoiseObjective.settle`](Noise2NoiseObjective.md#settle) "
            "compares with 0.1 to choose `pair_mixing`: the signal cancels in the difference "
            "of two noisy copies, so this is the whiteness of the noise itself. Copies "
            "that are the same recording up to an offset and a gain are refused before, by "
            "[`Noise2NoiseObjective.check`](Noise2NoiseObjective.md#check).",
            "examples": [("White and pink noise", _code('''
                import numpy as np

                from mdnc.data import get_noise_model, make_synthetic
                from mdnc.training import SplitData, pair_difference_whiteness

                clean = make_synthetic(4, 2000)
                rng = np.random.default_rng(0)
                for kind in ('gaussian', 'pink'):
                    noise = get_noise_model(kind)
                    a = [noise.add(c, 5.0, rng) for c in clean]
                    b = [noise.add(c, 5.0, rng) for c in clean]
                    data = SplitData(train=a, held_out=[], train_noisy=b)
                    print(kind, round(pair_difference_whiteness(data, window=256), 3))
            '''))],
        },
        "resolve_device": {
            "var": "device",
            "fallback": {"name": "`'auto'` (CUDA when available, else the CPU), or a device "
                         "name: `'cpu'`, `'cuda'`, `'cuda:1'`, ..."},
            "returns": "The `torch.device`.",
            "examples": [("Example", (
                "from mdnc.training import resolve_device\n\nprint(resolve_device('cpu'))\n"
                "try:\n    resolve_device('gpu0')\nexcept ValueError as err:\n    print(err)\n"
            ))],
        },
        "split_recordings": {
            "var": "train, held_out, train_indices, held_out_indices",
            "fallback": {
                "clean": "the recordings, `(channels, samples)` arrays.",
                "val_fraction": "the fraction of the recordings held out, in `[0, 1)`; at "
                "least one recording when there are several, none when 0.",
                "seed": "the seed of the random split.",
            },
            "examples": [("Example", (
                "from mdnc.data import make_synthetic\nfrom mdnc.training import "
                "split_recordings\n\ndata = make_synthetic(10, 500)\n"
                "train, held_out, tr, va = split_recordings(data, 0.2, seed=0)\n"
                "print(len(train), len(held_out), tr, va)\n"
                "one = split_recordings(make_synthetic(1, 1000), 0.2, seed=0)\n"
                "print([x.shape for x in one[0]], [x.shape for x in one[1]])\n"
            ))],
        },
        "evaluate_recordings": {
            "var": "snr, outputs",
            "fallback": {
                "model": "the network (or any callable on `(B, C, window)` tensors).",
                "clean": "the clean held-out recordings, `(channels, samples)` arrays.",
                "noisy": "the noisy versions of the same recordings, the model's inputs.",
                "window": "samples per window of the overlap-add "
                "([`apply_overlap_add`](../inference/apply_overlap_add.md), overlap 0.5).",
                "standardize": "standardise every window as in training.",
                "batch_size": "windows per model call.",
            },
            "examples": [("Example", (
                "import numpy as np\nfrom torch import nn\n\n"
                "from mdnc.data import add_gaussian_noise, make_synthetic\n"
                "from mdnc.training import evaluate_recordings\n\n"
                "clean = make_synthetic(2, 1000)\n"
                "noisy = [add_gaussian_noise(c, 5.0, rng=i) for i, c in enumerate(clean)]\n"
                "snr, outputs = evaluate_recordings(nn.Identity(), clean, noisy, window=256,\n"
                "                                   standardize=True)\n"
                "print({k: round(v, 2) + 0 for k, v in snr.items()}, outputs[0].shape)\n"
            ))],
        },
        "get_objective": {
            "var": "objective",
            "returns": "An instance of the class registered as `config.objective`, made with "
            "`config` and its noise model (`objective.noise`: `noise`, else the one "
            "`config.noise` names).",
            "examples": [("Example", _code('''
                from mdnc.training import ConfigError, TrainConfig, get_objective

                objective = get_objective(TrainConfig(snr_db=5.0))
                print(type(objective).__name__, objective.name, objective.noise,
                      objective.config.snr_db)
                try:
                    TrainConfig(objective='magic')
                except ConfigError as err:
                    print(err)
            '''))],
        },
        "list_objectives": {
            "var": "names",
            "examples": [("Example", _code('''
                from mdnc.training import list_objectives

                print(list_objectives())
            '''))],
        },
        "read_toml": {
            "var": "sections",
            "examples": [("Read a file, and a typo in one", _code('''
                from pathlib import Path

                from mdnc.training import ConfigError, TrainConfig, read_toml

                Path('run.toml').write_text('[data]\\nsynthetic = [12, 1000]\\n\\n'
                                            '[train]\\nwindow = 128\\nlr = 1\\n')
                sections = read_toml('run.toml')
                print(sections)
                print(TrainConfig(**sections['train']).lr)  # the int 1 of the file is a float
                Path('typo.toml').write_text('[train]\\nwindows = 128\\n')
                try:
                    read_toml('typo.toml')
                except ConfigError as err:
                    print(err)
            '''))],
        },
        "register_objective": {
            "var": "cls",
            "fallback": {"cls": "an [`Objective`](Objective.md) subclass with a class "
                         "attribute `name`."},
            "returns": "The class, unchanged.",
            "extra": "The class is then a choice of `TrainConfig.objective` and of "
            "`mdnc train --objective`; it must be registered in every process that reads "
            "such options (import the module that defines it).",
            "examples": [("A new loss in a few lines", _code('''
                import torch

                from mdnc.training import (Batch, SupervisedObjective, TrainConfig, get_objective,
                                           list_objectives, register_objective,
                                           unregister_objective)


                @register_objective
                class L1Objective(SupervisedObjective):
                    """Supervised denoising, scored by the mean absolute error."""

                    name = 'l1'

                    def loss(self, output, batch, reduction='mean'):
                        return torch.nn.functional.l1_loss(output.float(), batch.target,
                                                           reduction=reduction)


                try:
                    print(list_objectives())
                    batch = Batch(input=torch.zeros(2, 1, 8), target=torch.ones(2, 1, 8))
                    for name in list_objectives():
                        objective = get_objective(TrainConfig(objective=name, snr_db=5.0))
                        print(name, float(objective.loss(torch.full((2, 1, 8), 0.5), batch)))
                finally:  # this page's examples share a process with others
                    unregister_objective('l1')
                print(list_objectives())
            '''))],
        },
        "write_toml": {
            "var": "path",
            "returns": "The path written.",
            "examples": [("A round trip", _code('''
                from mdnc.training import DataConfig, TrainConfig, read_toml, write_toml

                source = DataConfig(synthetic=[12, 1000])
                config = TrainConfig(channel=4, layers=[1, 1], window=128, epochs=2)
                path = write_toml('run.toml', {'data': source, 'train': config})
                print(path.read_text())
                sections = read_toml(path)
                print(DataConfig(**sections['data']) == source,
                      TrainConfig(**sections['train']) == config)
            '''))],
        },
    },
    "mdnc.inference": {
        "stream_overlap_add": {
            "var": "out",
            "examples": [("Example", (
                "import numpy as np\n\nfrom mdnc.inference import apply_overlap_add, "
                "stream_overlap_add\n\n"
                "x = np.random.default_rng(0).standard_normal((2, 50_000)).astype(np.float32)\n"
                "np.save('long.npy', x)\n"
                "smooth = lambda w: (w + w.roll(1, -1) + w.roll(-1, -1)) / 3  # any model\n"
                "out = stream_overlap_add(smooth, 'long.npy', 'smooth.npy', window=512)\n"
                "same = np.array_equal(np.load(out), apply_overlap_add(smooth, x, window=512))\n"
                "print(out, same)\n"
            ))],
        },
        "DEFAULT_BATCH_SIZE": {
            "examples": [("Example", (
                "import inspect\n\nfrom mdnc.inference import DEFAULT_BATCH_SIZE, "
                "apply_overlap_add\n\nprint(DEFAULT_BATCH_SIZE)\n"
                "print(inspect.signature(apply_overlap_add).parameters['batch_size'].default)\n"
            ))],
        },
        "PADDING_MODES": {
            "summary": "The values of the `padding` argument of `apply_overlap_add`: how a "
            "recording is continued after its last sample so that the last window is full.",
            "examples": [("Example", (
                "import numpy as np\n\nfrom mdnc.inference import PADDING_MODES, "
                "apply_overlap_add\n\nprint(PADDING_MODES)\nx = np.arange(1.0, 6.0, dtype="
                "np.float32)\nfor mode in PADDING_MODES:\n"
                "    # The model sees the padded tail; the output keeps the input's length.\n"
                "    y = apply_overlap_add(lambda w: w.flip(-1), x, window=4, overlap=0.5, "
                "padding=mode)\n    print(mode, y)\n"
            ))],
        },
        "apply_overlap_add": {
            "var": "y",
            "examples": [
                ("An identity model gives its input back", (
                    "import numpy as np\n\nfrom mdnc.inference import apply_overlap_add\n\n"
                    "x = np.random.default_rng(0).standard_normal((2, 1000)).astype(np.float32)\n"
                    "y = apply_overlap_add(lambda w: w, x, window=128, overlap=0.75)\n"
                    "print(y.shape, y.dtype, bool(np.allclose(y, x, rtol=1e-6, atol=1e-6)))\n"
                )),
                ("A network over a long recording", (
                    "import numpy as np\nimport torch\n\nimport mdnc\n"
                    "from mdnc.inference import apply_overlap_add\n\n"
                    "net = mdnc.modules.resnet.UNet1d(4, [1, 1, 1], in_planes=2, out_planes=2)\n"
                    "rng = np.random.default_rng(0)\n"
                    "x = rng.standard_normal((2, 100_003)).astype(np.float32)\n"
                    "y = apply_overlap_add(net, x, window=512, batch_size=32, standardize=True)\n"
                    "print(y.shape, y.dtype, 'training mode kept:', net.training)\n"
                    "t = apply_overlap_add(net, torch.from_numpy(x), window=512)\n"
                    "print(type(t).__name__, tuple(t.shape))\ntry:\n"
                    "    apply_overlap_add(net, x, window=4)\nexcept ValueError as err:\n"
                    "    print(err)\n"
                )),
                ("Another engine: ONNX Runtime", (
                    "import numpy as np\n\nimport mdnc\n"
                    "from mdnc.inference import apply_overlap_add\n\n"
                    "net = mdnc.modules.resnet.UNet1d(4, [1, 1, 1])\n"
                    "x = np.random.default_rng(0).standard_normal(20_000).astype(np.float32)\n"
                    "a = apply_overlap_add(net, x, window=512)\n"
                    "b = apply_overlap_add(net, x, window=512, engine='onnxruntime')\n"
                    "print(a.shape, float(np.abs(a - b).max() / np.abs(a).max()) < 1e-5)\n"
                )),
            ],
        },
        "blend_weight": {
            "var": "weight",
            "examples": [("Example", (
                "from mdnc.inference import blend_weight\n\nprint(blend_weight(8))\n"
                "print(blend_weight(5))\n"
            ))],
        },
    },
    "mdnc.engines": {
        "ENGINES": {
            "examples": [("Example", _code('''
                from mdnc.engines import ENGINES

                print(ENGINES)
            '''))],
        },
        "AUTO_MIN_WINDOWS": {
            "examples": [("Example", _code('''
                import mdnc
                from mdnc.engines import AUTO_MIN_WINDOWS, prepare_engine

                net = mdnc.modules.resnet.UNet1d(4, [1, 1])
                print(AUTO_MIN_WINDOWS)
                print(prepare_engine(net, 'auto', window=512, batch_size=16, windows=10)[1])
            '''))],
        },
        "OnnxRuntimeModel": {
            "var": "runner",
            "args_section": "args",
            "examples": [("Run a network with ONNX Runtime", _code('''
                import numpy as np
                import torch

                import mdnc
                from mdnc.engines import OnnxRuntimeModel
                from mdnc.inference import apply_overlap_add

                net = mdnc.modules.resnet.UNet1d(4, [1, 1], in_planes=2, out_planes=2).eval()
                runner = OnnxRuntimeModel(net, window=256)
                print(runner)
                x = np.random.default_rng(0).standard_normal((2, 5000)).astype(np.float32)
                y = apply_overlap_add(runner, x, window=256)
                with torch.no_grad():
                    z = apply_overlap_add(net, x, window=256)
                print(y.shape, float(np.abs(y - z).max() / np.abs(z).max()) < 1e-5)
            '''))],
        },
        "choose_engine": {
            "var": "runner, name, seconds",
            "examples": [("Example", _code('''
                import mdnc
                from mdnc.engines import choose_engine

                net = mdnc.modules.resnet.UNet1d(4, [1, 1])
                runner, name, seconds = choose_engine(net, window=512, batch_size=16)
                print(name in seconds, sorted(seconds))
            '''))],
        },
        "prepare_engine": {
            "var": "runner, name",
            "examples": [("Example", _code('''
                import mdnc
                from mdnc.engines import prepare_engine

                net = mdnc.modules.resnet.UNet1d(4, [1, 1])
                runner, name = prepare_engine(net, 'torch', window=512, batch_size=16)
                print(name, runner is net)
                runner, name = prepare_engine(net, 'onnxruntime', window=512, batch_size=16)
                print(name, type(runner).__name__)
                try:
                    prepare_engine(net, 'tensorrt', window=512, batch_size=16)
                except ValueError as err:
                    print(err)
            '''))],
        },
    },
    "mdnc.export": {
        "onnx_program": {
            "var": "program",
            "examples": [("Example", _code('''
                import torch

                import mdnc
                from mdnc.export import onnx_program

                net = mdnc.modules.resnet.AE1d(4, [1, 1])
                program = onnx_program(net, torch.zeros(2, 1, 64), length=False)
                print(type(program).__name__, [i.name for i in program.model_proto.graph.input])
            '''))],
        },
        "ExportReport": {
            "var": "report",
            "args_section": "attributes",
            "examples": [("Example", (
                "import mdnc\nfrom mdnc.export import export_torchscript\n\n"
                "net = mdnc.modules.resnet.AE1d(4, [1, 1])\n"
                "report = export_torchscript(net, 'ae.pt')\n"
                "print(report.path, report.input_shapes, report.max_abs_error < 1e-5)\n"
            ))],
        },
        "example_input": {
            "var": "x",
            "examples": [("Example", (
                "import mdnc\nfrom mdnc.export import example_input\n\n"
                "unet = mdnc.modules.resnet.UNet1d(4, [1, 1, 1, 1], in_planes=3)\n"
                "print(unet.min_size, tuple(example_input(unet).shape))\n"
                "print(tuple(example_input(unet, batch=1, length=1000).shape))\n"
                "dec = mdnc.modules.resnet.DecoderNet1d(4, [1, 1], out_size=64, in_length=7)\n"
                "print(tuple(example_input(dec).shape))\n"
            ))],
        },
        "export_onnx": {
            "var": "report",
            "examples": [("Export and run with onnxruntime", (
                "import numpy as np\nimport onnxruntime as ort\nimport torch\n\nimport mdnc\n"
                "from mdnc.export import export_onnx\n\n"
                "net = mdnc.modules.resnet.UNet1d(4, [1, 1], in_planes=2, out_planes=2)\n"
                "report = export_onnx(net, 'unet.onnx')\n"
                "print(report.path, report.input_shapes, report.max_abs_error < 1e-4)\n"
                "session = ort.InferenceSession('unet.onnx', providers=['CPUExecutionProvider'])\n"
                "x = np.random.default_rng(0).standard_normal((3, 2, 777)).astype(np.float32)\n"
                "y = session.run(None, {'x': x})[0]\n"
                "with torch.no_grad():\n    expected = net.eval()(torch.from_numpy(x)).numpy()\n"
                "print(y.shape, bool(np.allclose(y, expected, atol=1e-4)))\n"
            ))],
        },
        "export_torchscript": {
            "var": "report",
            "examples": [("Export and load back", (
                "import torch\n\nimport mdnc\nfrom mdnc.export import export_torchscript\n\n"
                "net = mdnc.modules.resnet.UNet1d(4, [1, 1])\n"
                "report = export_torchscript(net, 'unet.pt')\n"
                "scripted = torch.jit.load('unet.pt')\nx = torch.randn(2, 1, 999)\n"
                "with torch.no_grad():\n    print(tuple(scripted(x).shape), "
                "torch.allclose(scripted(x), net.eval()(x), atol=1e-5))\n"
            ))],
        },
    },
    "mdnc.modules.blindspot": {
        "noise_variance": {
            "var": "variance",
            "examples": [("Example", _code('''
                import torch

                from mdnc.modules.blindspot import noise_variance

                g = torch.Generator().manual_seed(0)
                t = torch.linspace(0, 30, 8000)
                clean = torch.stack([torch.sin(t), torch.sign(torch.sin(t / 3))])  # smooth; steps
                for sigma in (0.1, 0.5):
                    noisy = clean + sigma * torch.randn(2, 8000, generator=g)
                    print(f'true {sigma ** 2:.4f}, estimated', noise_variance(noisy).tolist())
            '''))],
        },
        "mixture_nll": {
            "var": "nll",
            "extra": "The loss of `mdnc train --objective self-supervised` when the blind-spot "
            "network predicts a distribution (`--prior-components K`, the default), with the "
            "noise variance that `noise_variance` estimates per window.",
            "examples": [("Example", _code('''
                import math

                import torch

                from mdnc.modules.blindspot import mixture_nll

                # One gaussian N(0, 1): raw outputs (logit, mean, softplus^-1 of the variance).
                params = torch.tensor([[[0.0], [0.0], [math.log(math.expm1(1.0))]]])
                x, noise = torch.tensor([[[1.0]]]), torch.tensor([[0.5]])
                nll = mixture_nll(params, x, noise)
                by_hand = 0.5 * math.log(2 * math.pi * 1.5) + 1.0 / (2 * 1.5)
                print(f'{float(nll):.4f} {by_hand:.4f}')
            '''))],
        },
        "posterior_mean": {
            "var": "estimate",
            "extra": "What a `BlindSpotNet1d` with `components` outputs in evaluation mode "
            "(blind spot 1): the clean sample's mean given the distribution predicted from "
            "its surroundings and the noisy sample itself.",
            "examples": [("A sample at an edge snaps to a level", _code('''
                import math

                import torch

                from mdnc.modules.blindspot import posterior_mean, prior_mean

                # The surroundings say: level -1 or level 1, equally likely (an edge).
                raw = math.log(math.expm1(1e-3))
                params = torch.tensor([[[0.0], [0.0], [-1.0], [1.0], [raw], [raw]]])
                noise = torch.tensor([[0.1]])
                print('prior mean', round(float(prior_mean(params, 1)), 3))
                for x in (0.6, -0.4, 1.3):
                    out = posterior_mean(params, torch.tensor([[[x]]]), noise)
                    print(f'noisy {x:+.1f} -> {float(out):+.3f}')
            '''))],
        },
        "prior_mean": {
            "var": "mean",
            "extra": "The output of a `BlindSpotNet1d` with `components` in evaluation mode "
            "when the posterior does not apply: a blind spot wider than 1 (correlated noise) "
            "or other output than input channels.",
            "examples": [("Example", _code('''
                import math

                import torch

                from mdnc.modules.blindspot import prior_mean

                # Weights 0.25 / 0.75 (logits log 1, log 3), means -2 and 2.
                params = torch.tensor([[[0.0], [math.log(3.0)], [-2.0], [2.0], [0.0], [0.0]]])
                print(round(float(prior_mean(params, 1)), 4))   # 0.25 * -2 + 0.75 * 2
            '''))],
        },
        "estimate_blend": {
            "var": "w",
            "extra": "The self-supervised objective calls it at every validation, on the held-out "
            "windows, and sets the result with `BlindSpotNet1d.set_blend` (`blend` in the "
            "epoch's metrics); the blend is saved with the weights.",
            "examples": [("Example", _code('''
                import torch

                from mdnc.modules.blindspot import BlindSpotNet1d, estimate_blend

                torch.manual_seed(0)
                net = BlindSpotNet1d(4, [1, 1])
                g = torch.Generator().manual_seed(1)
                clean = torch.sin(torch.linspace(0, 40, 512)).expand(8, 1, 512)
                noisy = clean + 0.3 * torch.randn(8, 1, 512, generator=g)
                w = estimate_blend(net, noisy)  # an untrained network: a poor prior, much blend
                net.set_blend(w)
                net.eval()
                print(f'blend {w:.3f}')
                with torch.no_grad():
                    blind = net.train()(noisy)
                    mixed = net.eval()(noisy)
                print('output = blind + blend * (input - blind):',
                      torch.allclose(mixed, blind + w * (noisy - blind)))
            '''))],
        },
        "BlindSpotNet1d": {
            "var": "net",
            "base": NN_MODULE,
            "extra": "The default network of `mdnc train --objective self-supervised` "
            "(`TrainConfig.arch` unset): [Denoising without clean data]"
            "(../../../guide/without-clean-data.md) tells how it is trained and how it compares "
            "with masking an ordinary U-Net.",
            "properties": ["hidden", "nlayers", "min_size"],
            "examples": [("Example", _code('''
                import torch

                from mdnc.modules.blindspot import BlindSpotNet1d

                net = BlindSpotNet1d(16, [2, 2, 2, 2], blind_spot=3, in_planes=2, out_planes=2)
                print('hidden samples around each output sample:', net.hidden)
                x = torch.randn(1, 2, 64, requires_grad=True)
                net(x)[0, :, 30].sum().backward()
                seen = x.grad[0].abs().sum(0) > 0
                print('inputs 27..33 seen by output 30:', seen[27:34].int().tolist())
                print(tuple(net(torch.randn(4, 2, 1001)).shape))
            ''')), ("A predicted distribution (components)", _code('''
                import torch

                from mdnc.modules.blindspot import BlindSpotNet1d, noise_variance, posterior_mean

                torch.manual_seed(0)
                net = BlindSpotNet1d(8, [1, 1, 1], components=3)
                x = torch.randn(2, 1, 256)
                params = net(x)            # training mode: 3 * 3 parameters per sample
                print(tuple(params.shape))
                net.eval()
                with torch.no_grad():
                    y = net(x)             # evaluation mode: the posterior mean
                    print(tuple(y.shape), torch.allclose(
                        y, posterior_mean(net.train()(x), x, noise_variance(x))))
            '''))],
        },
    },
    "mdnc.registry": {
        "is_blind_spot": {
            "examples": [("Example", _code('''
                from mdnc.registry import is_blind_spot

                print(is_blind_spot('BlindSpotNet1d'), is_blind_spot('UNet1d'))
            '''))],
        },
        "KINDS": {
            "examples": [("Example", _code('''
                from mdnc.registry import KINDS, list_models

                print(KINDS)
                for kind in KINDS:
                    print(kind, len(list_models(kind=kind)), list_models(kind=kind)[:3])
            '''))],
        },
        "MODEL_MODULES": {
            "examples": [("Example", _code('''
                from mdnc.registry import MODEL_MODULES, get_model

                print(MODEL_MODULES)
                print(get_model('BlindSpotNet1d').__module__)
            '''))],
        },
        "FAMILIES": {
            "examples": [("Example", _code('''
                from mdnc.registry import FAMILIES, list_models

                print(FAMILIES)
                for family in FAMILIES:
                    print(f'{family:>7}', list_models(family=family, order=1))
            '''))],
        },
        "BLOCKS": {
            "examples": [("Example", _code('''
                from mdnc.registry import BLOCKS, get_model_info, list_models

                print(BLOCKS)
                for block in BLOCKS:
                    print(block, [n for n in list_models(kind='preset')
                                  if get_model_info(n).block == block])
            '''))],
        },
        "ModelInfo": {
            "var": "info",
            "args_section": "attributes",
            "base": "dataclass (frozen)",
            "extra": "Made by [`register_model`](register_model.md); "
            "[`get_model_info`](get_model_info.md) returns it.",
            "properties": ["same_size"],
            "examples": [("Example", _code('''
                from mdnc.registry import get_model_info

                for name in ('AE1d', 'EncoderNet2d', 'unet32', 'decnet13'):
                    info = get_model_info(name)
                    print(f'{name:>12}', info.kind, info.family, info.order, info.block,
                          info.layers, info.channel, info.same_size)
            '''))],
        },
        "get_model": {
            "var": "builder",
            "examples": [("A class, and a preset", _code('''
                import torch

                from mdnc.registry import get_model

                AE1d = get_model('AE1d')
                net = AE1d(4, [1, 1])
                print(AE1d.__name__, tuple(net(torch.randn(2, 1, 64)).shape))
                net = get_model('decnet13')(64, order=1, in_length=2)
                print(type(net).__name__, tuple(net(torch.randn(2, 2)).shape))
            '''))],
        },
        "get_model_info": {
            "var": "info",
            "examples": [("Example", _code('''
                from mdnc.registry import get_model_info

                info = get_model_info('unet32')
                print(info.name, info.kind, info.family, info.block, info.layers, info.channel)
                net = info.builder(order=1, in_planes=2)
                print(type(net).__name__, net.nlayers, net.in_planes)
                try:
                    get_model_info('BlockPlain1d')  # a building block, not a model
                except ValueError as err:
                    print(str(err).split(';')[0])
            '''))],
        },
        "list_models": {
            "var": "names",
            "examples": [("Example", _code('''
                from mdnc.registry import list_models

                print(list_models(kind='network', order=1))
                print(list_models(kind='preset', family='unet'))
                print(list_models(family='encoder'))
                print(len(list_models()), 'models in all')
            '''))],
        },
        "register_model": {
            "var": "decorator",
            "extra": "The built-in networks and presets are registered this way in "
            "`mdnc/modules/resnet.py`, in the order of its `__all__`; a new preset is one "
            "decorated function there (see [Extending mdnc](../../guide/extending.md)).",
            "examples": [("A new preset", _code('''
                from mdnc.modules import resnet
                from mdnc.registry import get_model, list_models, register_model


                @register_model(kind='preset', family='ae', block='plain', layers=(1, 1), channel=4)
                def aetiny(order=2, **kwargs):
                    """AE preset: channel 4, block 'plain', layers [1, 1]."""
                    return resnet._build_preset('aetiny', order, kwargs)


                try:
                    print(list_models(kind='preset', family='ae'))
                    net = get_model('aetiny')(order=1)
                    print(type(net).__name__, net.nlayers)
                    register_model('aetiny', kind='preset', family='ae', block='plain', layers=(1,),
                                   channel=4)(aetiny)
                except ValueError as err:
                    print(err)
                finally:  # this page's examples share a process with others
                    from mdnc.registry import _unregister

                    _unregister('aetiny')
                print('aetiny' in list_models())
            '''))],
        },
    },
}


def _is_model(entry: Entry, kind: str | None = None) -> bool:
    """Whether ``entry`` is a model (of that kind, if given) of :mod:`mdnc.registry`."""
    from mdnc.registry import list_models

    return entry.name in list_models(kind=kind)


# The names of mdnc.training that make the objectives' group.
OBJECTIVE_NAMES = {"Objective", "SupervisedObjective", "SelfSupervisedObjective",
                   "Noise2NoiseObjective", "blind_spot_mask", "Batch", "SplitData",
                   "recombine_pairs", "pair_difference_whiteness",
                   "register_objective", "get_objective", "list_objectives",
                   "ObjectiveOptions", "SupervisedOptions", "SelfSupervisedOptions",
                   "Noise2NoiseOptions"}  # fmt: skip

GROUPS = [
    ("Networks", "mdnc.modules.resnet", lambda e: _is_model(e, "network")),
    ("Blocks", "mdnc.modules.resnet", lambda e: e.kind == "class" and not _is_model(e)),
    ("Presets", "mdnc.modules.resnet", lambda e: _is_model(e, "preset")),
    ("Blind-spot network", "mdnc.modules.blindspot", None),
    ("Model registry", "mdnc.registry", None),
    ("Summary", "mdnc.contribs.torchsummary", None),
    ("Checkpoints", "mdnc.checkpoint", None),
    ("Data", "mdnc.data", None),
    ("Training", "mdnc.training", lambda e: e.name not in OBJECTIVE_NAMES),
    ("Training objectives", "mdnc.training", lambda e: e.name in OBJECTIVE_NAMES),
    ("Inference", "mdnc.inference", None),
    ("Inference engines", "mdnc.engines", None),
    ("Export", "mdnc.export", None),
]


def _exception_message(message: str) -> None:
    """The constructor of the exceptions (as of ``ValueError``).

    Args:
        message: what went wrong; mdnc's messages start with the file or folder concerned.
    """


def _page(module: str, name: str) -> str:
    if module == "mdnc":
        return f"api/{name}.md"
    return "api/" + "/".join(module.split(".")[1:]) + f"/{name}.md"


def _defining_file(entry: Entry) -> str:
    """The file that defines the name (for the Source link), relative to the repository."""
    import mdnc

    # The package's parent: the checkout, wherever mdnc was imported from.
    root = Path(mdnc.__file__).resolve().parents[1]
    obj = entry.obj
    if inspect.isclass(obj) or inspect.isfunction(obj):
        return Path(inspect.getsourcefile(obj)).resolve().relative_to(root).as_posix()
    module = importlib.import_module(entry.module)
    files = [Path(module.__file__)]
    if files[0].name == "__init__.py":
        files += sorted(files[0].parent.glob("*.py"))
    pattern = re.compile(rf"^{re.escape(entry.name)}\s*(?::[^=]*)?=", re.M)
    for f in files:
        if pattern.search(f.read_text(encoding="utf-8")):
            return f.resolve().relative_to(root).as_posix()
    return files[0].resolve().relative_to(root).as_posix()


def _workflow_entry(module: str, name: str) -> Entry:
    obj = getattr(importlib.import_module(module), name)
    data = dict(WORKFLOW.get(module, {}).get(name, {}))
    if inspect.isclass(obj) and issubclass(obj, Exception):
        kind, label = "exception", "Exception"
        base = f"subclass of `{obj.__mro__[1].__name__}`"
        data.setdefault("signature_of", _exception_message)
        data.setdefault("doc_from", _exception_message)
    elif inspect.isclass(obj):
        kind, label = "class", "Class"
        base = {"WindowDataset": "`torch.utils.data.Dataset`", "WindowStats": "`NamedTuple`"}.get(
            name, "dataclass" if hasattr(obj, "__dataclass_fields__") else ""
        )
        if inspect.isabstract(obj):
            base = "abstract base class"
        base = data.pop("base", base)
    elif callable(obj):
        kind, label, base = "function", "Function", ""
    else:
        kind, label, base = "constant", "Constant", f"`#!py {type(obj).__name__}`"
    if module == "mdnc.training" and name.endswith("Objective") and name != "Objective":
        # The built-in objectives take the base class's constructor, documented there.
        data.setdefault("doc_from", importlib.import_module(module).Objective)
    if name == "load" and module == "mdnc.checkpoint":  # load_checkpoint documents the args
        data.setdefault("doc_from", importlib.import_module(module).load_checkpoint)
        data.setdefault("returns", "The network with its weights, in evaluation mode.")
    return Entry(name=name, module=module, obj=obj, kind=kind, kind_label=label, base=base,
                 **data)  # fmt: skip


def _attribute_doc(path: str, name: str) -> str:
    """The docstring of a module constant: the string literal after its assignment."""
    import mdnc

    root = Path(mdnc.__file__).resolve().parents[1]
    body = ast.parse((root / path).read_text(encoding="utf-8")).body
    for node, after in zip(body, body[1:], strict=False):
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant):
                return inspect.cleandoc(str(after.value.value))
    return ""


def all_entries() -> tuple[list[Entry], list[tuple[str, str, list[Entry]]]]:
    """Every public name's entry, and the groups of the index and the navigation."""
    names = public_names()
    by_key: dict[tuple[str, str], Entry] = {}
    for e in resnet_entries() + summary_entries():
        by_key[(e.module, e.name)] = e
    entries = []
    for module, members in names.items():
        for name in members:
            entry = by_key.get((module, name)) or _workflow_entry(module, name)
            entry.kind_label = entry.kind_label or entry.kind.capitalize()
            entry.page = entry.page or _page(module, name)
            entry.source = entry.source or _defining_file(entry)
            if entry.kind == "constant" and not entry.summary:
                entry.summary = _attribute_doc(entry.source, name)
            entries.append(entry)
    groups = []
    load = [e for e in entries if e.module == "mdnc"]
    for title, module, test in GROUPS:
        members = [e for e in entries if e.module == module and (test is None or test(e))]
        if module == "mdnc.checkpoint":
            members = load + members
        groups.append((title, module, members))
    return entries, groups
