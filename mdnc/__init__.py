"""mdnc: residual auto-encoders and U-Nets for 1-D signals (and 2-D/3-D data), on PyTorch.

``import mdnc`` makes ``mdnc.modules.resnet`` and ``mdnc.contribs.torchsummary`` reachable
and loads nothing heavier than PyTorch itself; the workflow (``mdnc.data``,
``mdnc.training``, ``mdnc.inference``, ``mdnc.checkpoint``) is imported on first use.
"""

from __future__ import annotations

from typing import Any

from . import contribs, modules

__version__ = "0.1.0"
__all__ = ["modules", "contribs", "load", "denoise", "train", "__version__"]


def load(path: Any, **kwargs: Any) -> Any:
    """Rebuild a trained network from a checkpoint folder (see :func:`mdnc.checkpoint.load`).

    The network's ``inference`` attribute is the run's
    :class:`~mdnc.inference.spec.InferenceSpec` (window, standardisation, sampling rate,
    channels): what denoising with it needs.
    """
    from .checkpoint import load as _load

    return _load(path, **kwargs)


def denoise(run: Any, inputs: Any, output: Any, **options: Any) -> Any:
    """Denoise recording files with a trained run: what ``mdnc denoise`` does.

    Each output is a file of its input's format with its input's header (sampling rate,
    channel names, units, start time, the field's own fields); a run trained on
    one-channel recordings denoises every channel of a multichannel recording in turn.

    Args:
        run: the run folder (``mdnc train --out``).
        inputs: a file or folder, or a list of them.
        output: a file (one input file) or a folder.
        options: those of :func:`mdnc.inference.denoise.denoise` (``key``, ``window``,
            ``overlap``, ``batch_size``, ``device``, ``weights``, ``engine``, ``any_rate``,
            ``threads``, ``progress``, ``echo``).

    Returns:
        The files written.

    Example:
        >>> mdnc.denoise("runs/eeg", "night.edf", "clean/")  # doctest: +SKIP
        [PosixPath('clean/night.edf')]
    """
    from .inference.denoise import denoise as _denoise

    return _denoise(run, inputs, output, **options)


def train(inputs: Any = (), out: Any = None, **options: Any) -> Any:
    """Train a run on recording files (or the built-in synthetic set): what ``mdnc train``
    does.

    Args:
        inputs: files or folders of recordings; none: the built-in synthetic set.
        out: the run folder (new or empty; ``force=True`` for a folder of other files).
        options: any option of :class:`mdnc.training.DataConfig` and
            :class:`mdnc.training.TrainConfig` (``snr_db=5``, ``epochs=20`` ...), and those
            of :func:`mdnc.training.run.train_run` (``resume``, ``force``, ``progress``).

    Returns:
        The content of the run's ``metrics.json``.

    Example:
        >>> metrics = mdnc.train(["eeg/"], "runs/eeg", snr_db=5)  # doctest: +SKIP
    """
    from .training.run import train_run

    return train_run(inputs, out, **options)
