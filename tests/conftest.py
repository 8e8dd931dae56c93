"""Shared test helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, settings

FIXTURES = Path(__file__).parent / "fixtures"

# The fused kernels run wherever they may, whatever this host's timing chose: the suite
# checks them on every host (tests of the per-host choice set their own).
os.environ.setdefault("MDNC_FAST", "1")


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def property_settings(max_examples: int, *suppressed: HealthCheck) -> settings:
    """Hypothesis settings of the property suites: the same examples at every run (CI is
    deterministic), no deadline (a loaded 2-core machine), no example database."""
    return settings(
        max_examples=max_examples, deadline=None, derandomize=True, database=None,
        suppress_health_check=list(suppressed),
    )  # fmt: skip


def strip_trailing(text: str) -> list[str]:
    """Lines of ``text`` without trailing whitespace (fixtures ignore it)."""
    return [line.rstrip() for line in text.rstrip("\n").splitlines()]


def rel(value: torch.Tensor, reference: torch.Tensor) -> float:
    """Largest difference relative to the largest magnitude of the reference: the measure
    of "equal within 1e-5 relative" between the fused path, the stock layers and exports."""
    value, reference = value.detach().double(), reference.detach().double()
    return float((value - reference).abs().max() / reference.abs().max().clamp_min(1e-30))


def stock_copy(net: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``net`` in evaluation mode that runs the stock layers (no fused kernel, no
    channels-last inference): the reference the fast paths and exports are checked on."""
    import copy

    from mdnc.modules._units import set_fused

    stock = copy.deepcopy(net).eval()
    set_fused(stock, False)
    return stock


def pytest_configure(config: pytest.Config) -> None:
    # Under pytest-xdist every worker would start one thread per core: on a 2-core machine
    # the oversubscribed threads spin against each other and runs get many times slower.
    if hasattr(config, "workerinput"):
        torch.set_num_threads(1)
        os.environ["OMP_NUM_THREADS"] = "1"
