"""Train for a budget of process CPU seconds, whatever the machine's load.

Wall time on a shared machine depends on who else runs; the CPU time of this process does not (much). So a run is
first trained for a few calibration steps, the CPU seconds per step are measured on the later of them, and the run
then continues (``Trainer.fit`` again with more steps) until the budget is spent. It continues in parts, each
planned at the rate of the part before: a third of what is left at a time, then the last tenth at once. The load
of a shared machine can change the CPU seconds a step costs (caches and memory bandwidth are shared), so a single
plan made at the calibration's rate could overspend by the whole change; planned in parts, only the last part's
change is left uncorrected. Only the training steps are charged, with each ``fit``'s set-up counted in its first
step (the plan for a further ``fit`` sets aside what the latest one's set-up cost); checkpoints and sample grids
written at the end of each ``fit`` are not. The frozen text encoder's forward passes are timed separately and, unless asked
for, left out of the charge (see ``AblationSettings.charge_text``).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping, Protocol

from torch import nn

__all__ = ["ForwardTimer", "StepClock", "BudgetRecord", "train_within_budget"]

Clock = Callable[[], float]


class ForwardTimer:
    """Adds up the CPU seconds spent in a module's forward passes (forward pre-hook and hook).

    Args:
        module: The module to time (e.g. the frozen text encoder).
        clock: The clock (process CPU time by default).
    """

    def __init__(self, module: nn.Module, clock: Clock = time.process_time) -> None:
        self.total = 0.0
        self._clock = clock
        self._started: list[float] = []
        self._handles = [
            module.register_forward_pre_hook(self._before),
            module.register_forward_hook(self._after),
        ]

    def _before(self, _module: nn.Module, _inputs: Any) -> None:
        self._started.append(self._clock())

    def _after(self, _module: nn.Module, _inputs: Any, _output: Any) -> None:
        self.total += self._clock() - self._started.pop()

    def remove(self) -> None:
        """Detach the hooks."""
        for handle in self._handles:
            handle.remove()
        self._handles = []


@dataclass
class _Mark:
    step: int
    cpu: float
    text: float
    wall: float


class StepClock:
    """A trainer logger (``log_every=1``) that records, after every step, the CPU seconds it took.

    ``charged`` per step = process CPU seconds since the previous mark minus the text encoder's share, unless the
    text encoder is charged too.

    Args:
        text_timer: The text encoder's :class:`ForwardTimer` (None: nothing to subtract).
        charge_text: Keep the text encoder's time in the charge.
        clock: Process CPU clock.
        wall_clock: Wall clock.
    """

    def __init__(
        self,
        text_timer: ForwardTimer | None = None,
        *,
        charge_text: bool = False,
        clock: Clock = time.process_time,
        wall_clock: Clock = time.perf_counter,
    ) -> None:
        self.text_timer = text_timer
        self.charge_text = charge_text
        self._clock = clock
        self._wall = wall_clock
        self._last: _Mark | None = None
        self.fit_starts: list[int] = []
        self.step_cpu: list[float] = []
        self.step_text: list[float] = []
        self.step_wall: list[float] = []

    def _now(self, step: int) -> _Mark:
        text = self.text_timer.total if self.text_timer is not None else 0.0
        return _Mark(step, self._clock(), text, self._wall())

    def start(self, step: int) -> None:
        """Take the reference mark just before a ``fit`` (its set-up counts towards its first step)."""
        self._last = self._now(step)
        self.fit_starts.append(len(self.step_cpu))

    def log(self, step: int, values: Mapping[str, Any]) -> None:
        """Trainer logger protocol: called after every step with ``log_every=1``."""
        mark = self._now(step)
        if self._last is None:
            raise RuntimeError("StepClock: start() must be called before training")
        if mark.step != self._last.step + 1:
            raise RuntimeError(
                f"StepClock: expected a record for every step (log_every=1), got step {mark.step} after "
                f"{self._last.step}"
            )
        self.step_cpu.append(mark.cpu - self._last.cpu)
        self.step_text.append(mark.text - self._last.text)
        self.step_wall.append(mark.wall - self._last.wall)
        self._last = mark

    def close(self) -> None:
        """Trainer logger protocol (called at the end of every ``fit``; the clock stays usable)."""

    def charged(self) -> list[float]:
        """Charged CPU seconds of every step so far."""
        if self.charge_text:
            return list(self.step_cpu)
        return [max(0.0, cpu - text) for cpu, text in zip(self.step_cpu, self.step_text)]

    def per_step(self, skip: int) -> float:
        """Mean charged CPU seconds per step, leaving out the first ``skip`` steps."""
        values = self.charged()[skip:] or self.charged()
        if not values:
            raise RuntimeError("StepClock: no steps recorded")
        return sum(values) / len(values)

    def recent_per_step(self, skip: int) -> float:
        """Mean charged CPU seconds per step of the latest ``fit``, leaving out its first step (set-up) and the
        first ``skip`` steps of the run; :meth:`per_step` when that leaves nothing."""
        first = max((self.fit_starts[-1] + 1) if self.fit_starts else 0, skip)
        values = self.charged()[first:]
        return sum(values) / len(values) if values else self.per_step(skip)

    def fit_overhead(self, skip: int) -> float:
        """Charged CPU seconds that the latest ``fit``'s first step took beyond an ordinary step (its set-up)."""
        charged = self.charged()
        first = self.fit_starts[-1] if self.fit_starts else 0
        if first >= len(charged):
            return 0.0
        return max(0.0, charged[first] - self.per_step(skip))


class _Trainer(Protocol):
    step: int
    cfg: Any

    def fit(self) -> Any: ...


@dataclass
class BudgetRecord:
    """What a budgeted run spent.

    Attributes:
        steps: Steps trained.
        budget_cpu_seconds: The budget.
        charged_cpu_seconds: CPU seconds charged to the budget (training steps; text encoder only if charged).
        text_cpu_seconds: CPU seconds of the frozen text encoder's forward passes during the steps.
        step_cpu_seconds: All CPU seconds of the training steps (charged + uncharged text).
        step_wall_seconds: Wall seconds of the training steps.
        fit_cpu_seconds: Process CPU seconds of the ``fit`` calls (steps, checkpoints, sample grids).
        fit_wall_seconds: Wall seconds of the ``fit`` calls.
        calibrated_cpu_per_step: Charged CPU seconds per step measured after the calibration steps.
        fits: Steps reached after each ``fit`` call.
        charge_text: Whether the text encoder was charged.
    """

    steps: int
    budget_cpu_seconds: float
    charged_cpu_seconds: float
    text_cpu_seconds: float
    step_cpu_seconds: float
    step_wall_seconds: float
    fit_cpu_seconds: float
    fit_wall_seconds: float
    calibrated_cpu_per_step: float
    fits: list[int] = field(default_factory=list)
    charge_text: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def train_within_budget(
    trainer: _Trainer,
    clock: StepClock,
    budget: float,
    *,
    calibration_steps: int,
    warmup_steps: int,
    max_steps: int | None = None,
    part_fraction: float = 1 / 3,
    last_part_fraction: float = 0.1,
    max_fits: int = 12,
    cpu_clock: Clock = time.process_time,
    wall_clock: Clock = time.perf_counter,
) -> BudgetRecord:
    """Train ``trainer`` (whose loggers include ``clock``) until ``budget`` charged CPU seconds are spent.

    Args:
        trainer: A fresh [`Trainer`][fusionblocks.train.trainer.Trainer] (``log_every=1``) or any object with
            ``step``, ``cfg.steps`` and ``fit()``.
        clock: The :class:`StepClock` among the trainer's loggers.
        budget: Charged CPU seconds to spend.
        calibration_steps: Steps of the first ``fit``.
        warmup_steps: Steps of those left out of the per-step estimate.
        max_steps: Optional cap on the total steps.
        part_fraction: Share of the budget still left that each further ``fit`` plans to spend.
        last_part_fraction: Once at most this share of the budget is left (or ten set-ups of a ``fit`` cost more
            than a part), the next ``fit`` plans to spend all of it.
        max_fits: Cap on the ``fit`` calls after the calibration.
        cpu_clock: Process CPU clock (for the ``fit`` totals).
        wall_clock: Wall clock.

    Returns:
        The :class:`BudgetRecord`.

    Raises:
        ValueError: a non-positive budget, or ``warmup_steps >= calibration_steps``.
    """
    if not (math.isfinite(budget) and budget > 0):
        raise ValueError(f"budget: expected a positive number of CPU seconds, got {budget!r}")
    if not 0 <= warmup_steps < calibration_steps:
        raise ValueError(f"warmup_steps: expected 0 <= warmup_steps < calibration_steps, got {warmup_steps}")
    if not (0 < part_fraction <= 1 and 0 <= last_part_fraction <= 1):
        raise ValueError(f"part_fraction: expected 0 < part_fraction <= 1 and 0 <= last_part_fraction <= 1, got "
                         f"{part_fraction} and {last_part_fraction}")
    fits: list[int] = []
    cpu0, wall0 = cpu_clock(), wall_clock()

    def fit_to(total: int) -> None:
        trainer.cfg.steps = total
        clock.start(trainer.step)
        trainer.fit()
        fits.append(trainer.step)

    fit_to(calibration_steps if max_steps is None else min(calibration_steps, max_steps))
    calibrated = clock.per_step(warmup_steps)
    for _round in range(max_fits):
        per_step = clock.recent_per_step(warmup_steps)
        overhead = clock.fit_overhead(warmup_steps)
        left = budget - sum(clock.charged()) - overhead  # the next fit's set-up is charged
        part = part_fraction * left
        if left <= last_part_fraction * budget or part <= 10 * overhead:
            part = left
        extra = math.floor(part / per_step) if per_step > 0 else 0
        if max_steps is not None:
            extra = min(extra, max_steps - trainer.step)
        if extra < 1:
            break
        fit_to(trainer.step + extra)
    charged = clock.charged()
    return BudgetRecord(
        steps=trainer.step,
        budget_cpu_seconds=float(budget),
        charged_cpu_seconds=sum(charged),
        text_cpu_seconds=sum(clock.step_text),
        step_cpu_seconds=sum(clock.step_cpu),
        step_wall_seconds=sum(clock.step_wall),
        fit_cpu_seconds=cpu_clock() - cpu0,
        fit_wall_seconds=wall_clock() - wall0,
        calibrated_cpu_per_step=calibrated,
        fits=fits,
        charge_text=clock.charge_text,
    )
