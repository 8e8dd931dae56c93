"""Training objectives: how recordings become (input, target) windows, and the loss.

One module per objective, each with the options it owns:

* :mod:`.supervised`: clean targets, noise added (or paired noisy recordings;
  :class:`SupervisedOptions`, empty);
* :mod:`.self_supervised`: noisy recordings only (:class:`SelfSupervisedOptions`);
* :mod:`.noise2noise`: pairs of noisy recordings (:class:`Noise2NoiseOptions`).

:mod:`._base` holds the interface (:class:`Objective`) and the registry; a new objective
is a class registered with :func:`register_objective`, with an ``options_class`` of its
own (see the extending guide).

Example:
    >>> list_objectives()
    ['supervised', 'self-supervised', 'noise2noise']
    >>> objective_class("self-supervised").options_class.__name__
    'SelfSupervisedOptions'
"""

# isort: off
# Registration order is the order of the listings (--objective, list_objectives):
# supervised, the default, first.
from . import supervised, self_supervised, noise2noise  # noqa: F401

# isort: on
from ..options import ObjectiveOptions
from ._base import (
    Batch,
    Objective,
    SplitData,
    get_objective,
    list_objectives,
    objective_class,
    register_objective,
    unregister_objective,
)
from .noise2noise import (
    PAIR_LAGS,
    WHITE_DIFFERENCE,
    Noise2NoiseObjective,
    Noise2NoiseOptions,
    pair_difference_whiteness,
    recombine_pairs,
)
from .self_supervised import SelfSupervisedObjective, SelfSupervisedOptions, blind_spot_mask
from .supervised import SupervisedObjective, SupervisedOptions

__all__ = [
    "PAIR_LAGS",
    "WHITE_DIFFERENCE",
    "Batch",
    "Noise2NoiseObjective",
    "Noise2NoiseOptions",
    "Objective",
    "ObjectiveOptions",
    "SelfSupervisedObjective",
    "SelfSupervisedOptions",
    "SplitData",
    "SupervisedObjective",
    "SupervisedOptions",
    "blind_spot_mask",
    "get_objective",
    "list_objectives",
    "objective_class",
    "pair_difference_whiteness",
    "recombine_pairs",
    "register_objective",
    "unregister_objective",
]
