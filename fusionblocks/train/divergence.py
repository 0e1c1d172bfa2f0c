"""Why a training run stopped on non-finite numbers, and where its last finite checkpoint is.

Three things can go non-finite: a loss term, the gradients (for more consecutive steps than the trainer's
``nonfinite_patience``), or the weights / optimiser state about to be checkpointed. Each stops the run with a
[`TrainingDivergedError`][fusionblocks.train.divergence.TrainingDivergedError] subclass whose message names the step,
what went wrong, and the last checkpoint known to be finite (checkpoints are only ever written finite, so the run's
``latest.json`` still names it and ``fusionblocks train --resume`` continues from it).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["TrainingDivergedError", "NonFiniteLossError", "NonFiniteGradientError", "NonFiniteWeightsError"]


def _where(checkpoint: Path | None) -> str:
    if checkpoint is None:
        return "no checkpoint had been written yet"
    return f"the last finite checkpoint is {checkpoint}, still the run's latest"


class TrainingDivergedError(FloatingPointError):
    """Training stopped on NaN/Inf. The command line exits with status 3.

    Attributes:
        step: The step at which it stopped.
        checkpoint: The last checkpoint known to be finite (``None`` when none was written yet).
    """

    def __init__(self, message: str, step: int, checkpoint: Path | None) -> None:
        super().__init__(f"{message}; training stopped ({_where(checkpoint)})")
        self.step, self.checkpoint = step, checkpoint


class NonFiniteLossError(TrainingDivergedError):
    """A loss term became NaN or infinite. Names the step and the term.

    Attributes:
        term: The first non-finite loss term's name.
        value: Its value.
    """

    def __init__(self, step: int, term: str, value: float, checkpoint: Path | None) -> None:
        super().__init__(f"non-finite loss at step {step}: loss term {term!r} = {value}", step, checkpoint)
        self.term, self.value = term, value


class NonFiniteGradientError(TrainingDivergedError):
    """The gradients were non-finite for too many consecutive steps (each of those updates was skipped).

    Attributes:
        skipped: The consecutive skipped steps.
    """

    def __init__(self, step: int, skipped: int, optimizers: list[str], checkpoint: Path | None) -> None:
        super().__init__(
            f"non-finite gradients at step {step} for {skipped} consecutive step(s) (optimiser(s) "
            f"{', '.join(optimizers)}; their updates were skipped)",
            step,
            checkpoint,
        )
        self.skipped = skipped


class NonFiniteWeightsError(TrainingDivergedError):
    """The weights or optimiser state became NaN/Inf (e.g. an overflowing update), so the checkpoint due at this
    step was refused.

    Attributes:
        bad: Group name → names of its non-finite tensors.
    """

    def __init__(self, step: int, detail: str, bad: dict[str, list[str]], checkpoint: Path | None) -> None:
        super().__init__(f"non-finite weights or optimiser state at step {step}: {detail}", step, checkpoint)
        self.bad = bad
