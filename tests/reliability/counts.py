"""The numbers ``docs/reliability.md`` reports, computed from the suite's own tables (so the page cannot drift)."""

from __future__ import annotations


def reliability_counts() -> dict[str, int]:
    """``inputs tried``, ``files refused`` and ``kills survived`` by the reliability suite (plus the reader's tests)."""
    from tests.test_state_dict_io import BAD_FILES

    from . import test_bad_inputs_api as api
    from . import test_bad_inputs_cli as cli
    from . import test_checkpoint_faults as faults
    from . import test_kill_training as kill_training
    from . import test_nonfinite as nonfinite
    from . import test_plugins_cli as plugins
    from . import test_resume as resume

    cli_special = 3  # full disk during training, run folder in use, unwritable eval output
    padded = 4 * 2  # poison values x (with, without attention maps)
    plugin_cases = 4  # import error, duplicate name, strict mode, disabled
    resume_refusals = 3  # changed model shape, changed seed, a non-finite checkpoint (also a file refused)
    forced_non_finite = 5  # one Inf gradient, persistent Inf gradients, patience 0, overflowing weights, lr_g=1e39
    files = len(cli.FILES) + len(api.VOCAB_FILES) + 1 + len(api.CAPTION_PICKLES) + len(BAD_FILES) + 2 + 1
    inputs = (len(cli.TABLE) + cli_special + len(api.API_TABLE) + padded + plugin_cases
              + len(api.VOCAB_FILES) + 1 + len(api.CAPTION_PICKLES) + len(BAD_FILES) + 2
              + resume_refusals + forced_non_finite)
    kills = len(faults.KILL_POINTS) + 2  # + the two kills of real training runs in test_kill_training.py
    assert plugins and resume and nonfinite and kill_training  # imported so that a renamed module fails here
    return {"inputs tried": inputs, "files refused": files, "kills survived": kills}
