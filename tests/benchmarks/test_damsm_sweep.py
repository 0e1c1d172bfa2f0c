"""benchmarks/damsm_sweep.py --quick runs end to end and writes its summary (the full sweep is a documented run)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks import damsm_sweep  # noqa: E402


@pytest.mark.slow
def test_quick_sweep_writes_results(tmp_path, capsys):
    assert damsm_sweep.main(["--quick", "--settings", "new", "--seeds", "0,1", "--out", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "results.json").read_text())
    assert set(record["results"]) == {"new"} and [r["seed"] for r in record["results"]["new"]] == [0, 1]
    assert record["settings"]["new"]["mask_same_class"] is False and record["settings"]["new"]["hard_negatives"] == 4
    for run in record["results"]["new"]:
        assert set(run["probe"]["sentence"]) >= set(damsm_sweep.ATTRIBUTES)
        assert run["steps"] == 3 and run["cpu_seconds"] >= 0
    table = (tmp_path / "results.md").read_text()
    assert "| `new` |" in table and "±" in table

    # an interrupted sweep resumes: finished runs are read back, not trained again
    piece = tmp_path / "runs" / "new_seed1.json"
    assert piece.is_file()
    marked = json.loads(piece.read_text())
    marked["cpu_seconds"] = 12345.0
    piece.write_text(json.dumps(marked))
    assert damsm_sweep.main(["--quick", "--settings", "new", "--seeds", "1", "--out", str(tmp_path)]) == 0
    again = json.loads((tmp_path / "results.json").read_text())
    assert again["results"]["new"][0]["cpu_seconds"] == 12345.0
    # a piece made with other settings is refused, not mixed in
    marked["setting"]["steps"] = 1
    piece.write_text(json.dumps(marked))
    with pytest.raises(SystemExit, match="other settings"):
        damsm_sweep.main(["--quick", "--settings", "new", "--seeds", "1", "--out", str(tmp_path)])


def test_pieces_written_before_a_setting_field_existed_count_at_its_default():
    setting = damsm_sweep.SETTINGS["new"]
    stored = {k: v for k, v in setting.__dict__.items() if k not in ("code_pooling", "mirror_negatives")}
    assert damsm_sweep._same_setting({**stored, "description": "older words"}, setting)
    assert not damsm_sweep._same_setting({**stored, "code_pooling": "flatten"}, setting)
    assert not damsm_sweep._same_setting(stored, damsm_sweep.SETTINGS["rel"])
    assert not damsm_sweep._same_setting(None, setting)


def test_bad_arguments_are_refused():
    with pytest.raises(SystemExit):
        damsm_sweep.main(["--settings", "nope"])
    with pytest.raises(SystemExit):
        damsm_sweep.main(["--seeds", "a"])
