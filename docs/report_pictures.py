"""Make the report pictures shown in the user guide (docs/assets/report/*.png).

Runs ``mdnc train`` on 60 built-in synthetic recordings of 2000 samples for 15 epochs with
the default network, in a temporary folder, and copies its ``loss.png`` and
``examples.png`` here. About a minute on 2 CPU cores.

Usage: ``python docs/report_pictures.py``
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


def main() -> int:
    TARGET.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mdnc-report-") as tmp:
        run = Path(tmp) / "run"
        command = [sys.executable, "-m", "mdnc", "train", "--out", str(run), *OPTIONS]
        print("$", " ".join(["mdnc", *command[3:]]))
        subprocess.run(command, check=True)
        for name in ("loss.png", "examples.png"):
            shutil.copyfile(run / name, TARGET / name)
            print(f"wrote {TARGET / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
