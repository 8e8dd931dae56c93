"""Whether a folder may take a training run: the one check, made by :func:`mdnc.train`
before any recording is read, and by the trainer once it holds the folder's lock.

A run goes into a new folder, an empty one, or a folder that holds only what a run killed
before its first checkpoint leaves (its lock, temporary files). A folder that holds a run
is resumed, never overwritten; a folder of anything else (whatever the files' names, even
``metrics.json`` or ``loss.png``) is the user's, and refused unless ``force``.
"""

from __future__ import annotations

from pathlib import Path

from .._utils import LOCK_NAME, is_leftover
from .config import ConfigError

__all__ = ["check_run_folder", "holds_run"]

#: The file that makes a folder a run (written with the first checkpoint).
RUN_MARKER = "config.json"


def holds_run(folder: Path) -> bool:
    """Whether ``folder`` holds a run (its ``config.json``)."""
    return (Path(folder) / RUN_MARKER).is_file()


def check_run_folder(folder: str | Path, *, resume: bool = False, force: bool = False) -> Path:
    """Refuse a folder that may not take the run; return it as a Path.

    Args:
        folder: the run folder (``--out``, or ``--resume``).
        resume: the run in ``folder`` is continued.
        force: write a new run into a folder that holds other files (never into a run).

    Raises:
        ConfigError: a file is there; ``resume`` and no run is there; a new run and a run is
            there; or a new run and the folder holds other files (without ``force``). The
            message names the folder and says what to do.
    """
    out = Path(folder)
    if out.exists() and not out.is_dir():
        flag = "--resume" if resume else "--out"
        raise ConfigError(f"{flag} {out}: a file is there; give a folder for the run.")
    if resume:
        if not holds_run(out):
            raise ConfigError(f"{out}: holds no run to resume (no {RUN_MARKER}).")
        return out
    if holds_run(out):
        raise ConfigError(f"{out} already holds a run; use --resume {out} or another --out.")
    if not out.is_dir() or force:
        return out
    foreign = sorted(
        p.name for p in out.iterdir() if p.name != LOCK_NAME and not is_leftover(p.name)
    )
    if foreign:
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        raise ConfigError(
            f"--out {out} is a folder of other files ({', '.join(foreign[:3])}{more}), not a "
            "run: give a new or empty folder, or --force to write the run's files among them."
        )
    return out
