"""The settings a trained run needs at inference, typed, saved with its weights.

A run's ``config.json`` keeps them under ``extra["inference"]``; :func:`mdnc.load` gives
them as the model's ``inference`` attribute, and ``mdnc denoise`` uses them. Runs saved
before this spec existed kept only ``extra["window"]`` and ``extra["standardize"]``; they
are read as a spec without a sample rate or channel names.

Example:
    >>> from mdnc.inference.spec import InferenceSpec
    >>> spec = InferenceSpec(window=2048, standardize=True, sample_rate=250.0, channels=1)
    >>> InferenceSpec.from_json(spec.to_json()) == spec
    True
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._utils import is_int

__all__ = ["InferenceSpec", "DEFAULT_WINDOW"]

#: The window of a run that saved none (the training default).
DEFAULT_WINDOW = 1024


@dataclass(frozen=True)
class InferenceSpec:
    """What denoising with a run takes from its training.

    Attributes:
        window: samples per window the run was trained on.
        standardize: whether each window was standardised (and its output mapped back).
        sample_rate: the samples per second of the training recordings, when they said it.
        channels: the channels the model takes (1: a multichannel recording is denoised
            one channel at a time).
        channel_names: the channel names of the first training recording, when it had them.
    """

    window: int = DEFAULT_WINDOW
    standardize: bool = False
    sample_rate: float | None = None
    channels: int | None = None
    channel_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not (is_int(self.window) and self.window >= 1):
            raise ValueError(f"window must be an int >= 1, got {self.window!r}")
        if not isinstance(self.standardize, bool):
            raise ValueError(f"standardize must be a bool, got {self.standardize!r}")
        rate = self.sample_rate
        if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float))
                                 or not math.isfinite(rate) or rate <= 0):  # fmt: skip
            raise ValueError(f"sample_rate must be a number of Hz > 0 or None, got {rate!r}")
        if self.channels is not None and not (is_int(self.channels) and self.channels >= 1):
            raise ValueError(f"channels must be an int >= 1 or None, got {self.channels!r}")
        names = self.channel_names
        if names is not None:
            if isinstance(names, str) or not all(isinstance(n, str) for n in names):
                raise ValueError(f"channel_names must be strings or None, got {names!r}")
            object.__setattr__(self, "channel_names", tuple(names))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out = dataclasses.asdict(self)
        out["channel_names"] = None if self.channel_names is None else list(self.channel_names)
        return out

    @classmethod
    def from_json(cls, entry: Any) -> InferenceSpec:
        """The inverse of :meth:`to_json` (unknown keys are ignored).

        Raises:
            ValueError: not a dict, or a value out of its range.
        """
        if not isinstance(entry, dict):
            raise ValueError(f"expected a JSON object, got {type(entry).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in entry.items() if k in names})

    @classmethod
    def from_config(cls, config: dict[str, Any], where: Any = "config.json") -> InferenceSpec:
        """The spec of a run's config (``extra["inference"]``, or the older keys).

        Raises:
            CheckpointError: the saved values are not valid (the file was edited).
        """
        from ..checkpoint import CheckpointError

        extra = config.get("extra", {})
        name = Path(where) / "config.json" if Path(where).is_dir() else where
        try:
            if not isinstance(extra, dict):
                raise ValueError(f"'extra' must be a JSON object, got {type(extra).__name__}")
            if "inference" in extra:
                return cls.from_json(extra["inference"])
            return cls(window=extra.get("window", DEFAULT_WINDOW),
                       standardize=extra.get("standardize", False))  # fmt: skip
        except (TypeError, ValueError) as err:
            raise CheckpointError(
                f"{name}: the saved inference settings are not valid ({err}); the file was "
                "edited."
            ) from None
