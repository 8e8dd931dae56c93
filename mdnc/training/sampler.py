"""The order in which an epoch visits the training windows, split among processes."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from torch.utils.data import Sampler

from mdnc._utils import check_int

__all__ = ["StepSampler"]


class StepSampler(Sampler[int]):
    """``count`` windows of ``n`` per epoch, drawn afresh every epoch without repeats, and
    split among ``num_replicas`` processes as ``DistributedSampler`` splits them (process
    ``rank`` takes draws ``rank, rank + num_replicas, ...``): the union of the processes'
    batches is the single process's batch, whatever the number of processes.

    For epochs shorter than the data set (``TrainConfig.steps_per_epoch``): memory is
    ``O(count)``, not ``O(n)``, since numpy draws ``count`` of ``n`` without the whole
    permutation when ``count`` is small; the draws depend only on ``(seed, epoch)``, so a
    resumed run sees the windows of an uninterrupted one.

    Args:
        n: the number of windows.
        count: windows per epoch, at most ``n`` (a multiple of ``num_replicas``).
        num_replicas: processes; ``rank``: this one's.
        seed: the seed of the draws.

    Example:
        >>> sampler = StepSampler(1_000_000, 8, num_replicas=2, rank=0, seed=0)
        >>> len(list(sampler)), len(sampler)
        (4, 4)
    """

    def __init__(self, n: int, count: int, num_replicas: int = 1, rank: int = 0, seed: int = 0):
        self.n = check_int("n", n, 1)
        self.count = min(check_int("count", count, 1), self.n)
        self.num_replicas = check_int("num_replicas", num_replicas, 1)
        self.rank, self.seed, self.epoch = rank, seed, 0

    def set_epoch(self, epoch: int) -> None:
        """Draw the windows of ``epoch`` (call before every epoch)."""
        self.epoch = epoch

    def draws(self) -> np.ndarray:
        """This epoch's ``count`` window indices, in order, for every process."""
        rng = np.random.default_rng([self.seed, self.epoch])
        return rng.choice(self.n, size=self.count, replace=False)

    def __iter__(self) -> Iterator[int]:
        usable = self.count - self.count % self.num_replicas
        return iter(self.draws()[self.rank : usable : self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.count // self.num_replicas
