"""The site builds with ``mkdocs build --strict``, offline, without a warning."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs import DOCS

pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install -e '.[docs]'")
pytest.importorskip("material", reason="the docs extra is not installed: pip install -e '.[docs]'")


def test_strict_build_has_no_warning_and_renders_the_seed_layout(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
        cwd=DOCS.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    assert "WARNING" not in log, log
    page = (site / "api/modules/resnet/AE1d/index.html").read_text(encoding="utf-8")
    for piece in (
        '<details class="example" open',  # ???+ example
        'class="tabbed-set',  # === "Codes" / === "Output"
        '<th class="w-6rem"',  # Argument {: .w-6rem}
        'class="mermaid"',  # the flowchart
        "The number of convolutional layers along the depth is 59.",
        "__codelineno-0-",  # the source link points at a line
    ):
        assert piece in page, piece
    assert (site / "assets/report/loss.png").is_file()
    assert not (site / "screenshots").exists() and not (site / "examples.py").exists()
