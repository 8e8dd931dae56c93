"""Shared test helpers."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def strip_trailing(text: str) -> list[str]:
    """Lines of ``text`` without trailing whitespace (fixtures ignore it)."""
    return [line.rstrip() for line in text.rstrip("\n").splitlines()]
