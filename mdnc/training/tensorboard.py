"""TensorBoard logs of a run (``TrainConfig.tensorboard``, ``mdnc train --tensorboard``).

The epoch metrics (losses, SNRs, the residual checks, the learning rate) go to
``RUN/tensorboard`` as scalars, and ``examples.png`` as an image each time it is drawn;
``tensorboard --logdir RUN/tensorboard`` shows them. It needs the ``tensorboard`` package
(``pip install "mdnc[tensorboard]"``), checked when the run starts.
"""

from __future__ import annotations

import importlib.util
import numbers
from pathlib import Path
from typing import Any

from .config import ConfigError

__all__ = ["TENSORBOARD_NAME", "TensorBoardLog"]

#: The folder of the logs in a run folder.
TENSORBOARD_NAME = "tensorboard"


class TensorBoardLog:
    """A run's TensorBoard writer.

    Args:
        out: the run folder; the logs go to ``out / TENSORBOARD_NAME``.

    Raises:
        ConfigError: the ``tensorboard`` package is not installed.
    """

    def __init__(self, out: Path) -> None:
        self.check()
        from torch.utils.tensorboard import SummaryWriter

        self.folder = Path(out) / TENSORBOARD_NAME
        self.writer = SummaryWriter(log_dir=str(self.folder))

    @staticmethod
    def check() -> None:
        """Raise when the ``tensorboard`` package is missing (before a run starts)."""
        if importlib.util.find_spec("tensorboard") is None:
            raise ConfigError(
                "tensorboard (--tensorboard) needs the tensorboard package (pip install "
                '"mdnc[tensorboard]").'
            )

    def epoch(self, row: dict[str, Any]) -> None:
        """The numbers of one epoch's row of the history, at step ``row["epoch"]``."""
        step = int(row["epoch"])
        for key, value in row.items():
            if key != "epoch" and isinstance(value, numbers.Real) and not isinstance(value, bool):
                self.writer.add_scalar(key, float(value), step)
        self.writer.flush()

    def picture(self, name: str, path: Path, step: int) -> None:
        """A PNG of the run (e.g. ``examples.png``) as an image at ``step``."""
        import matplotlib.image

        if path.is_file():
            image = matplotlib.image.imread(str(path))[..., :3]
            self.writer.add_image(name, image, step, dataformats="HWC")
            self.writer.flush()

    def close(self) -> None:
        self.writer.close()
