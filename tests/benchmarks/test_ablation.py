"""The miniature ablation script (benchmarks/ablation.py): budget accounting, the spread rule, the command line,
the variant table, and one end-to-end ``--quick`` run (slow) with resume and ``--report-only``."""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks import ablation  # noqa: E402
from benchmarks.ablation_budget import ForwardTimer, StepClock, train_within_budget  # noqa: E402
from benchmarks.ablation_report import (  # noqa: E402
    RESULTS_END,
    RESULTS_START,
    aggregate,
    render_markdown,
    replace_marked_section,
    spread_findings,
)
from benchmarks.ablation_variants import (  # noqa: E402
    BASE_OVERRIDES,
    PRESET,
    VARIANT_NAMES,
    VARIANTS,
    variant_overrides,
)

DOCS_PAGE = ROOT / "docs" / "ablation.md"


# ----------------------------------------------------------------------------------------------- budget accounting
class FakeCPU:
    """A process clock that advances only when told to."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class CostlyText(nn.Module):
    """A 'text encoder' whose forward costs ``cost`` fake CPU seconds."""

    def __init__(self, cpu: FakeCPU, cost: float) -> None:
        super().__init__()
        self.cpu, self.cost = cpu, cost

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.cpu.now += self.cost
        return x


class FakeTrainer:
    """Trains 'steps' costing ``step_cost`` CPU seconds plus one text-encoder call each; logs every step."""

    def __init__(self, clock: StepClock, cpu: FakeCPU, text: nn.Module, step_cost: float) -> None:
        self.step, self.cfg = 0, SimpleNamespace(steps=None)
        self.clock, self.cpu, self.text, self.step_cost = clock, cpu, text, step_cost
        self.fit_calls = 0

    def fit(self) -> None:
        self.fit_calls += 1
        self.cpu.now += 5.0  # set-up of a fit: charged to its first step, as in the real trainer
        while self.step < self.cfg.steps:
            self.text(torch.zeros(1))
            self.cpu.now += self.step_cost
            self.step += 1
            self.clock.log(self.step, {})
        self.cpu.now += 50.0  # checkpoint and grids after the last step: never charged


def _budgeted(budget: float, *, charge_text: bool, max_steps: int | None = None):
    cpu = FakeCPU()
    text = CostlyText(cpu, 0.5)
    timer = ForwardTimer(text, clock=cpu)
    clock = StepClock(timer, charge_text=charge_text, clock=cpu, wall_clock=cpu)
    trainer = FakeTrainer(clock, cpu, text, step_cost=0.25)
    record = train_within_budget(trainer, clock, budget, calibration_steps=4, warmup_steps=1, max_steps=max_steps,
                                 cpu_clock=cpu, wall_clock=cpu)
    return record, trainer


def test_budget_spends_the_charged_cpu_seconds_and_leaves_out_text_and_fit_overheads() -> None:
    record, trainer = _budgeted(30.0, charge_text=False)
    # each step charges 0.25 s; the first step of each fit also its 5 s set-up; text (0.5 s/step) is not charged
    assert record.fits[0] == 4 and trainer.fit_calls == len(record.fits) >= 2
    assert record.steps == trainer.step
    assert record.charged_cpu_seconds <= 30.0 + 1e-9
    assert record.charged_cpu_seconds > 30.0 - 0.25 - 1e-9  # the continuation's set-up was planned for
    assert record.text_cpu_seconds == pytest.approx(0.5 * record.steps)
    assert record.calibrated_cpu_per_step == pytest.approx(0.25)
    assert record.step_cpu_seconds == pytest.approx(record.charged_cpu_seconds + record.text_cpu_seconds)
    assert record.fit_cpu_seconds > record.step_cpu_seconds  # the 50 s checkpoints are outside the steps


class SlowingTrainer(FakeTrainer):
    """A FakeTrainer whose steps cost ``slower`` CPU seconds from step ``after`` on (the machine got busier), and
    whose fit set-up is cheap, as in the real trainer."""

    def __init__(self, *args: object, after: int, slower: float) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.after, self.slower = after, slower

    def fit(self) -> None:
        self.fit_calls += 1
        self.cpu.now += 0.01
        while self.step < self.cfg.steps:
            self.cpu.now += self.step_cost if self.step < self.after else self.slower
            self.step += 1
            self.clock.log(self.step, {})


@pytest.mark.parametrize("slower", [0.3, 0.4, 0.2])
def test_budget_holds_when_steps_get_dearer_or_cheaper_after_calibration(slower: float) -> None:
    """Planned at the calibration's rate alone, 60 % dearer steps would overspend by about half the budget; planned
    in parts at the latest rate, only the last part's change is left."""
    cpu = FakeCPU()
    clock = StepClock(clock=cpu, wall_clock=cpu)
    trainer = SlowingTrainer(clock, cpu, nn.Identity(), 0.25, after=10, slower=slower)
    record = train_within_budget(trainer, clock, 100.0, calibration_steps=8, warmup_steps=2, cpu_clock=cpu,
                                 wall_clock=cpu)
    assert record.calibrated_cpu_per_step == pytest.approx(0.25)
    assert 100.0 - slower - 0.02 < record.charged_cpu_seconds <= 100.0 + 1e-6
    assert 3 <= len(record.fits) <= 13 and record.steps == pytest.approx((100.0 - 2.5) / slower + 10, abs=2)


def test_charging_the_text_encoder_leaves_fewer_steps() -> None:
    free, _ = _budgeted(30.0, charge_text=False)
    charged, _ = _budgeted(30.0, charge_text=True)
    assert charged.charge_text and charged.steps < free.steps
    assert charged.calibrated_cpu_per_step == pytest.approx(0.75)
    assert charged.charged_cpu_seconds == pytest.approx(charged.step_cpu_seconds)
    assert 30.0 - 0.75 - 1e-9 < charged.charged_cpu_seconds <= 30.0 + 1e-9


def test_max_steps_caps_the_run_and_bad_budgets_are_refused() -> None:
    record, _ = _budgeted(1000.0, charge_text=False, max_steps=9)
    assert record.steps == 9
    with pytest.raises(ValueError, match="budget"):
        _budgeted(0.0, charge_text=False)


def test_step_clock_refuses_missing_steps() -> None:
    clock = StepClock(clock=FakeCPU(), wall_clock=FakeCPU())
    clock.start(0)
    clock.log(1, {})
    with pytest.raises(RuntimeError, match="log_every=1"):
        clock.log(3, {})


# ----------------------------------------------------------------------------------------------- aggregation, rule
def _runs(values: dict[str, list[float]]) -> list[dict]:
    return [{"variant": v, "metrics": {"relation": x}, "cost": {"steps": 10}} for v, xs in values.items() for x in xs]


def test_spread_rule_calls_differences_in_both_directions_and_only_beyond_the_spread() -> None:
    runs = _runs({"ffgan": [0.50, 0.52, 0.54], "worse": [0.30, 0.32, 0.34], "better": [0.70, 0.71, 0.72],
                  "close": [0.49, 0.55, 0.60]})
    summary = aggregate(runs, ["relation"], ["ffgan", "worse", "better", "close"])
    assert summary["ffgan"]["metrics"]["relation"]["mean"] == pytest.approx(0.52)
    assert summary["ffgan"]["metrics"]["relation"]["sd"] == pytest.approx(0.02)
    found = {f.variant: f for f in spread_findings(summary, "ffgan", ["relation"])}
    assert found["worse"].exceeds and found["worse"].delta == pytest.approx(-0.20)
    assert found["better"].exceeds and found["better"].delta > 0
    assert not found["close"].exceeds  # |0.027| < 0.02 + 0.056


def test_one_seed_has_no_spread_and_calls_nothing() -> None:
    summary = aggregate(_runs({"ffgan": [0.5], "other": [0.9]}), ["relation"], ["ffgan", "other"])
    assert math.isnan(summary["ffgan"]["metrics"]["relation"]["sd"])
    assert not any(f.exceeds for f in spread_findings(summary, "ffgan", ["relation"]))


def _results(values: dict[str, list[float]]) -> dict:
    variants = list(values)
    summary = aggregate(_runs(values), ["relation"], variants)
    seeds = list(range(max(len(v) for v in values.values())))
    findings = [f.to_dict() for f in spread_findings(summary, "ffgan", ["relation"])]
    return {"metrics": ["relation"], "variants": variants, "summary": summary, "reference": "ffgan", "seeds": seeds,
            "findings": findings, "command": "python benchmarks/ablation.py", "versions": {},
            "settings": {"cpu_seconds": 180.0, "charge_text": False, "batch_size": 16, "eval_count": 500,
                         "rprec_candidates": 100, "rprec_folds": 10}}


def test_markdown_states_the_called_differences_and_copes_without_the_reference() -> None:
    text = render_markdown(_results({"ffgan": [0.50, 0.52, 0.54], "worse": [0.30, 0.32, 0.34]}), lambda _v: None)
    assert "| worse | 32.0 ± 2.0 |" in text and "**worse** relation: 32.0 ± 2.0 vs 52.0 ± 2.0" in text
    assert "20.0 points lower" in text
    alone = render_markdown(_results({"clip": [0.1, 0.2]}), lambda _v: None)
    assert "ffgan was not run" in alone and "| clip |" in alone


def test_replace_marked_section_keeps_the_rest_and_refuses_pages_without_markers(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(f"# Title\n\n{RESULTS_START}\nold\n{RESULTS_END}\n\ntail\n")
    replace_marked_section(page, "new table")
    text = page.read_text()
    assert "old" not in text and "new table" in text and text.startswith("# Title") and text.endswith("tail\n")
    bare = tmp_path / "bare.md"
    bare.write_text("no markers\n")
    with pytest.raises(ValueError, match="--docs"):
        replace_marked_section(bare, "x")


# ----------------------------------------------------------------------------------------------- variants and docs
def test_every_variant_resolves_to_a_valid_config_at_the_shared_widths() -> None:
    from fusionblocks.ffgan.builder import resolve_config

    values = {"damsm_text": None, "damsm_image": None, "clip_weights": None}
    configs = {v.name: resolve_config(PRESET, variant_overrides(v, values)) for v in VARIANTS}
    for name, config in configs.items():
        m = config.model
        assert (m.ngf, m.ndf, m.z_dim, m.image_size) == (16, 16, 32, 32), name
    assert configs["ffgan_no_words"].model.stage_fusion_kwargs == {"word_attention": False}
    assert configs["ffgan_no_gsr"].model.stage_fusion_kwargs == {"gsr": False}
    assert configs["attngan"].model.stage_fusion == "attngan.stage_fusion"
    assert (configs["dfgan"].model.arch, configs["dfgan"].train.recipe) == ("dfgan", "dfgan")
    assert configs["clip"].text.encoder == "text.clip" and configs["clip"].train.damsm_lambda == 0
    for name in ("ffgan", "ffgan_no_words", "ffgan_no_gsr", "attngan"):
        t = configs[name].train
        assert t.hard_negatives and not t.damsm_mask_same_class and t.recipe == "ffgan", name
    assert BASE_OVERRIDES["data.kwargs"]["max_objects"] == 2


def test_the_docs_page_lists_every_variant_and_keeps_the_results_markers() -> None:
    text = DOCS_PAGE.read_text(encoding="utf-8")
    for name in VARIANT_NAMES:
        assert f"| `{name}` |" in text, name
    assert text.count(RESULTS_START) == 1 and text.count(RESULTS_END) == 1
    assert "ablation.md" in (ROOT / "mkdocs.yml").read_text()


# ----------------------------------------------------------------------------------------------- command line
@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--seeds", "0,x"], "--seeds"),
        (["--seeds", "1,1"], "--seeds"),
        (["--variants", "ffgan,nope"], "--variants"),
        (["--cpu-seconds", "-3"], "--cpu-seconds"),
        (["--cpu-seconds", "nan"], "--cpu-seconds"),
        (["--threads", "0"], "--threads"),
        (["--clip-weights", "/nonexistent/clip.pt"], "--clip-weights"),
        (["--bogus"], "unrecognized arguments"),
    ],
)
def test_bad_flags_are_one_line_errors_with_exit_status_2(argv: list[str], flag: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert ablation.main([*argv, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and flag in err
    assert not (tmp_path / "out" / "results.json").exists()


def test_report_only_needs_a_results_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert ablation.main(["--report-only", "--out", str(tmp_path)]) == 2
    assert "results.json" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------- end to end
@pytest.mark.slow
def test_quick_run_end_to_end_then_reuse_and_report_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ablation"
    threads = torch.get_num_threads()
    assert ablation.main(["--quick", "--out", str(out)]) == 0
    assert torch.get_num_threads() == threads
    printed = capsys.readouterr().out
    assert "RANDOM frozen CLIP weights" in printed

    results = json.loads((out / "results.json").read_text())
    from benchmarks.ablation_eval import METRICS

    assert results["variants"] == list(VARIANT_NAMES) and results["seeds"] == [0] and results["quick"] is True
    assert results["command"].startswith("python benchmarks/ablation.py --quick")
    assert {"torch", "fusionblocks", "git_commit", "torch_threads"} <= set(results["versions"])
    assert results["clip_weights"] is None
    assert sorted((r["variant"], r["seed"]) for r in results["runs"]) == sorted((v, 0) for v in VARIANT_NAMES)
    for run in results["runs"]:
        assert set(run["metrics"]) == set(METRICS), run["variant"]
        for name in ("color", "shape", "size", "all_correct", "rprec"):
            assert 0.0 <= run["metrics"][name] <= 1.0, (run["variant"], name)
        cost = run["cost"]
        assert cost["steps"] >= results["settings"]["calibration_steps"] and cost["fits"][-1] == cost["steps"]
        assert cost["charged_cpu_seconds"] > 0 and cost["fit_wall_seconds"] > 0
        assert (out / run["grid"]).is_file()
    clip = next(r for r in results["runs"] if r["variant"] == "clip")
    ffgan = next(r for r in results["runs"] if r["variant"] == "ffgan")
    assert clip["cost"]["text_cpu_seconds"] > 10 * ffgan["cost"]["text_cpu_seconds"]
    for variant in VARIANT_NAMES:
        assert set(results["summary"][variant]["metrics"]) == set(METRICS)
    assert results["real"]["judge"]["color"] >= 0.9  # the judge reads real 32 px images
    markdown = (out / "results.md").read_text()
    for variant in VARIANT_NAMES:
        assert f"| {variant} |" in markdown
    assert "| *real images* |" in markdown and "no difference is called" in markdown

    # a second invocation reuses every finished piece and reports the same numbers
    assert ablation.main(["--quick", "--out", str(out)]) == 0
    assert capsys.readouterr().out.count("reusing") == 1 + len(VARIANT_NAMES)
    again = json.loads((out / "results.json").read_text())
    assert again["summary"] == results["summary"]

    # --report-only fills a copy of the docs page and copies the grids next to it
    page = tmp_path / "docs" / "ablation.md"
    page.parent.mkdir()
    shutil.copyfile(DOCS_PAGE, page)
    assert ablation.main(["--report-only", "--out", str(out), "--docs", str(page)]) == 0
    text = page.read_text()
    assert "Not yet run" not in text and "| ffgan |" in text and "Quick mode" in text
    for name in [*VARIANT_NAMES, "real"]:
        assert f"](assets/ablation/{name}.png)" in text
        assert (page.parent / "assets" / "ablation" / f"{name}.png").is_file()


def test_relation_encoders_flatten_the_small_cnn_code_and_older_records_still_match(tmp_path: Path) -> None:
    from benchmarks.ablation_damsm import build_evaluator, pretrained_damsm
    from benchmarks.ablation_settings import FULL, QUICK, AblationUsageError
    from fusionblocks.ffgan.builder import resolve_config

    values = {"damsm_text": None, "damsm_image": None, "clip_weights": None}
    by_name = {v.name: v for v in VARIANTS}
    for name in ("ffgan", "attngan"):
        plain = resolve_config(PRESET, variant_overrides(by_name[name], values)).image.kwargs
        aware = resolve_config(PRESET, variant_overrides(by_name[name], values, relations=True)).image.kwargs
        assert "code_pooling" not in plain and aware == {**plain, "code_pooling": "flatten"}
    for name in ("dfgan", "clip"):  # no small CNN image encoder: nothing to change
        assert variant_overrides(by_name[name], values, relations=True) == variant_overrides(by_name[name], values)
    # the documented table's records, written before the option existed, stay valid: they ran with it off
    from benchmarks.ablation_damsm import _check_reusable
    from benchmarks.ablation_run import _reusable

    old = tmp_path / "old_damsm"
    old.mkdir()
    before = {k: v for k, v in FULL.damsm_dict().items() if k != "damsm_relations"}
    (old / "complete.json").write_text(json.dumps({"seed": 0, **before}))
    assert _check_reusable(old, FULL, 0)
    with pytest.raises(AblationUsageError, match="other settings"):
        _check_reusable(old, FULL.replace(damsm_relations=True), 0)
    run = tmp_path / "old_run.json"
    run.write_text(json.dumps({"settings": {k: v for k, v in FULL.run_dict().items() if k != "damsm_relations"},
                               "clip_weights": None}))
    assert _reusable(run, FULL, None) is not None
    with pytest.raises(AblationUsageError, match="other settings"):
        _reusable(run, FULL.replace(damsm_relations=True), None)
    aware_settings = QUICK.replace(damsm_relations=True)
    assert aware_settings.run_dict()["damsm_relations"] is True and aware_settings.damsm_dict()["damsm_relations"]
    with pytest.raises(ValueError, match="damsm_relations"):
        QUICK.replace(damsm_relations="yes")
    assert ablation.settings_from_args(ablation.parse_args(["--quick", "--relation-encoders"])).damsm_relations

    # relation-aware encoders pre-train, load back into a flattened-code evaluator, and are not mistaken for plain ones
    folder = tmp_path / "damsm"
    pretrained_damsm(folder, aware_settings, 0, log=lambda _: None)
    _, image_encoder = build_evaluator(folder, aware_settings, 0)
    assert image_encoder.code_pooling == "flatten"
    with pytest.raises(AblationUsageError, match="other settings"):
        pretrained_damsm(folder, QUICK, 0, log=lambda _: None)
