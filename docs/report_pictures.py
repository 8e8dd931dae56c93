"""Make the report pictures shown in the user guide (docs/assets/report/*.png).

Runs ``mdnc train`` on 60 built-in synthetic recordings of 2000 samples for 15 epochs with
the default network, in a temporary folder, and copies its ``loss.png`` and
``examples.png`` here; then the same with ``--objective self-supervised`` (noisy
recordings only, 40 epochs) into ``self-supervised-*.png``. About ten minutes on 2 CPU
cores.

Usage: ``python docs/report_pictures.py [PREFIX ...]`` (only the runs of these prefixes:
``supervised``, ``self-supervised``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = HERE / "assets" / "report"
OPTIONS = ["--synthetic", "60", "2000", "--epochs", "15", "--seed", "0"]
#: The runs: (file name prefix, options).
RUNS = [
    ("", OPTIONS),
    ("self-supervised-", [*OPTIONS, "--objective", "self-supervised", "--epochs", "40"]),
]


def main() -> int:
    TARGET.mkdir(parents=True, exist_ok=True)
    wanted = sys.argv[1:]
    for prefix, options in RUNS:
        if wanted and (prefix.rstrip("-") or "supervised") not in wanted:
            continue
        with tempfile.TemporaryDirectory(prefix="mdnc-report-") as tmp:
            run = Path(tmp) / "run"
            command = [sys.executable, "-m", "mdnc", "train", "--out", str(run), *options]
            print("$", " ".join(["mdnc", *command[3:]]))
            subprocess.run(command, check=True)
            for name in ("loss.png", "examples.png"):
                shutil.copyfile(run / name, TARGET / (prefix + name))
                print(f"wrote {TARGET / (prefix + name)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
