"""The documented contract: the seed's example output and the state_dict layouts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import mdnc
from mdnc.modules.resnet import AE1d, UNet1d  # noqa: F401  (used by eval of fixture keys)
from tests.conftest import FIXTURES, strip_trailing

LAYOUTS = json.loads((FIXTURES / "state_dict_layouts.json").read_text())
SEED_CODE = FIXTURES / "ae1d_seed_example.py"


def test_seed_example_prints_documented_output() -> None:
    result = subprocess.run(
        [sys.executable, str(SEED_CODE)], capture_output=True, text=True, check=True
    )
    expected = (FIXTURES / "ae1d_seed_example_output.txt").read_text()
    assert strip_trailing(result.stdout) == strip_trailing(expected)
    assert result.stderr == ""


def test_demo_module_is_the_seed_example() -> None:
    demo = Path(mdnc.__file__).parent / "examples" / "seed.py"
    code = [line for line in demo.read_text().splitlines() if not line.startswith('"""')]
    assert "\n".join(code).strip() == SEED_CODE.read_text().strip()


@pytest.mark.parametrize("expression", sorted(LAYOUTS))
def test_state_dict_layout(expression: str) -> None:
    expected = LAYOUTS[expression]
    net = eval(expression)
    assert net.nlayers == expected["nlayers"]
    assert sum(p.numel() for p in net.parameters()) == expected["n_params"]
    layout = [[name, list(t.shape)] for name, t in net.state_dict().items()]
    assert layout == expected["state_dict"]


@pytest.mark.parametrize("expression", sorted(LAYOUTS))
def test_documented_checkpoint_loads_strictly(expression: str) -> None:
    source, target = eval(expression), eval(expression)
    target.load_state_dict(source.state_dict(), strict=True)
