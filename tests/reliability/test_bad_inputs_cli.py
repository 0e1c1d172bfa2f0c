"""The CLI's error contract, driven by a table: every user error exits 2 with one stderr line naming the culprit.

Each row is a real ``fusionblocks`` command line (run in-process through ``fusionblocks.cli.main``) with bad
arguments, bad config values, or missing, corrupt, hostile or unwritable files; the row states what the one error
line must name. The table covers every case of the reliability issue plus more; ``docs/reliability.md`` reports its
size. A crash that is a bug (not a user error) must keep its traceback: tested at the end.
"""

from __future__ import annotations

import os
import shutil
import signal

import pytest
import torch

from fusionblocks.cli import main
from fusionblocks.train.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from fusionblocks.train.run_lock import RunFolderLock

from .conftest import TINY

# (id, argv, what the error line must contain); {run} = a trained run folder, {w} = a scratch folder with the
# prepared bad files (see _prepare), {file} = a plain file standing where a folder is needed
Row = tuple[str, list[str], str]
SIZES: list[Row] = [  # sizes and numbers on the command line
    ("batch-size 0", ["train", *TINY, "--batch-size", "0", "--out", "{w}/r"], "--batch-size: expected a positive"),
    ("batch-size -1", ["train", *TINY, "--batch-size", "-1", "--out", "{w}/r"], "--batch-size: expected a positive"),
    ("batch-size abc", ["train", *TINY, "--batch-size", "abc", "--out", "{w}/r"], "--batch-size: expected an integer"),
    ("steps 0", ["train", *TINY, "--steps", "0", "--out", "{w}/r"], "--steps: expected a positive integer"),
    ("steps -3", ["train", *TINY, "--steps", "-3", "--out", "{w}/r"], "--steps: expected a positive integer"),
    ("set train.steps=0", ["train", *TINY, "--set", "train.steps=0", "--out", "{w}/r"],
     "train.steps: expected a value >= 1"),
    ("set train.epochs=-1", ["train", *TINY, "--set", "train.epochs=-1", "--out", "{w}/r"], "train.epochs"),
    ("keep 0", ["train", *TINY, "--keep", "0", "--out", "{w}/r"], "--keep: expected a positive"),
    ("log-every 0", ["train", *TINY, "--log-every", "0", "--out", "{w}/r"], "--log-every: expected a positive"),
    ("checkpoint-every -1", ["train", *TINY, "--checkpoint-every", "-1", "--out", "{w}/r"], "--checkpoint-every"),
    ("seed -1", ["train", *TINY, "--seed", "-1", "--out", "{w}/r"], "--seed: expected an integer >= 0"),
    ("threads 0", ["sample", "--checkpoint", "{run}", "--caption", "a", "--out", "{w}/s", "--threads", "0"],
     "--threads"),
    ("num 0", ["sample", "--checkpoint", "{run}", "--caption", "a", "--num", "0", "--out", "{w}/s"], "--num"),
    ("sample batch 0", ["sample", "--checkpoint", "{run}", "--caption", "a", "--batch-size", "0", "--out", "{w}/s"],
     "--batch-size"),
    ("truncation nan", ["sample", "--checkpoint", "{run}", "--caption", "a", "--truncation", "nan", "--out", "{w}/s"],
     "--truncation: expected a finite number > 0"),
    ("truncation -1", ["sample", "--checkpoint", "{run}", "--caption", "a", "--truncation", "-1", "--out", "{w}/s"],
     "--truncation"),
    ("eval num-samples 0", ["eval", "--checkpoint", "{run}", "--num-samples", "0"], "--num-samples"),
    ("damsm lr 0", ["pretrain-damsm", *TINY, "--steps", "1", "--lr", "0", "--out", "{w}/d"], "--lr"),
    ("damsm epochs 0", ["pretrain-damsm", *TINY, "--epochs", "0", "--out", "{w}/d"], "--epochs"),
    ("damsm no steps", ["pretrain-damsm", *TINY, "--out", "{w}/d"], "--steps"),
    ("precision fp16", ["train", *TINY, "--precision", "fp16", "--out", "{w}/r"], "--precision"),
    ("unknown flag", ["train", *TINY, "--stepz", "3"], "unrecognized arguments: --stepz"),
    ("no command", [], "required: COMMAND"),
    ("unknown command", ["trian"], "invalid choice: 'trian'"),
    ("device nonsense", ["sample", "--checkpoint", "{run}", "--caption", "a", "--out", "{w}/s", "--device", "bogus"],
     "device"),
]
NAMES: list[Row] = [  # names and config values
    ("list bad kind", ["list", "layers"], "KIND: expected one of"),
    ("unknown preset", ["train", "--preset", "tiny65", "--out", "{w}/r"], "unknown model 'tiny65'"),
    ("unknown config key", ["train", *TINY, "--set", "model.ngff=3", "--out", "{w}/r"], "model.ngff"),
    ("bad override syntax", ["train", *TINY, "--set", "model.ngf", "--out", "{w}/r"], "model.ngf"),
    ("component keyword", ["train", *TINY, "--set", "image.kwargs={image_size:16}", "--out", "{w}/r", "--steps", "1"],
     "unexpected keyword argument(s) 'image_size:16'"),
    ("unknown metric", ["eval", "--checkpoint", "{run}", "--metrics", "bogus", "--out", "{w}/e.json"], "bogus"),
    ("no preset, no resume", ["train", "--out", "{w}/r"], "--preset"),
    ("resume of nothing", ["train", "--out", "{w}/empty", "--resume"], "--preset"),
    ("run folder exists", ["train", *TINY, "--steps", "2", "--out", "{run}"], "already holds checkpoints"),
]
CONFIG: list[Row] = [  # config values out of range or of the wrong element type, named by their dotted key
    ("lr_g nan", ["train", *TINY, "--set", "train.lr_g=nan", "--out", "{w}/r"], "train.lr_g: expected a finite"),
    ("lr_g -1", ["train", *TINY, "--set", "train.lr_g=-1", "--out", "{w}/r"], "train.lr_g: expected a value > 0"),
    ("lr_d inf", ["train", *TINY, "--set", "train.lr_d=inf", "--out", "{w}/r"], "train.lr_d: expected a finite"),
    ("betas [0.5, 2]", ["train", *TINY, "--set", "train.betas=[0.5, 2]", "--out", "{w}/r"],
     "train.betas[1]: expected a value in [0, 1)"),
    ("betas one value", ["train", *TINY, "--set", "train.betas=[0.5]", "--out", "{w}/r"],
     "train.betas: expected 2 values"),
    ("betas strings", ["train", *TINY, "--set", "train.betas=[a, b]", "--out", "{w}/r"],
     "train.betas[0]: expected a number"),
    ("damsm_lambda -5", ["train", *TINY, "--set", "train.damsm_lambda=-5", "--out", "{w}/r"],
     "train.damsm_lambda: expected a value >= 0"),
    ("kl_weight -1", ["train", *TINY, "--set", "train.kl_weight=-1", "--out", "{w}/r"],
     "train.kl_weight: expected a value >= 0"),
    ("ngf abc", ["train", *TINY, "--set", "model.ngf=abc", "--out", "{w}/r"], "model.ngf: expected an integer"),
    ("ngf 0", ["train", *TINY, "--set", "model.ngf=0", "--out", "{w}/r"], "model.ngf: expected a value >= 1"),
    ("image_size 17", ["train", *TINY, "--set", "model.image_size=17", "--out", "{w}/r"], "model.image_size"),
    ("seed -1 in config", ["train", *TINY, "--set", "train.seed=-1", "--out", "{w}/r"],
     "train.seed: expected a value >= 0"),
]
CAPTIONS: list[Row] = [
    ("empty caption", ["sample", "--checkpoint", "{run}", "--caption", "", "--out", "{w}/s"], "empty or blank"),
    ("blank caption", ["sample", "--checkpoint", "{run}", "--caption", "   ", "--out", "{w}/s"], "empty or blank"),
    ("no caption", ["sample", "--checkpoint", "{run}", "--out", "{w}/s"], "--caption"),
    ("missing captions file", ["sample", "--checkpoint", "{run}", "--captions", "{w}/nope.txt", "--out", "{w}/s"],
     "nope.txt"),
]
FILES: list[Row] = [  # missing, corrupt, hostile files: each one is refused with its name
    ("missing checkpoint", ["sample", "--checkpoint", "{w}/missing", "--caption", "a", "--out", "{w}/s"], "missing"),
    ("truncated safetensors", ["sample", "--checkpoint", "{w}/truncated", "--caption", "a", "--out", "{w}/s"],
     "generator_ema.safetensors: truncated"),
    ("flipped byte", ["sample", "--checkpoint", "{w}/flipped", "--caption", "a", "--out", "{w}/s"],
     "generator_ema.safetensors: corrupt"),
    ("corrupt meta.json", ["sample", "--checkpoint", "{w}/badmeta", "--caption", "a", "--out", "{w}/s"], "meta.json"),
    ("corrupt latest.json", ["sample", "--checkpoint", "{w}/badlatest", "--caption", "a", "--out", "{w}/s"],
     "latest.json"),
    ("NaN weights", ["sample", "--checkpoint", "{w}/nanrun", "--caption", "a", "--out", "{w}/s"], "NaN/Inf"),
    ("NaN weights eval", ["eval", "--checkpoint", "{w}/nanrun", "--metrics", "rprec", "--out", "{w}/e.json"],
     "NaN/Inf"),
    ("corrupt yaml", ["train", "--config", "{w}/bad.yaml", "--out", "{w}/r"], "bad.yaml"),
    ("missing yaml", ["train", "--config", "{w}/nope.yaml", "--out", "{w}/r"], "nope.yaml"),
    ("config is a folder", ["train", "--config", "{w}", "--out", "{w}/r"], "is a folder; expected a YAML config file"),
    ("damsm config is a folder", ["pretrain-damsm", "--config", "{w}", "--out", "{w}/r"],
     "is a folder; expected a YAML config file"),
    ("corrupt .pth generator", ["convert", "--generator", "{w}/bad.pth", "--out", "{w}/c"], "bad.pth"),
    ("hostile .pth generator", ["convert", "--generator", "{w}/evil.pth", "--out", "{w}/c"], "evil.pth"),
    ("missing .pth generator", ["convert", "--generator", "{w}/nope.pth", "--out", "{w}/c"], "nope.pth"),
    ("corrupt text weights", ["train", *TINY, "--steps", "1", "--out", "{w}/r", "--set", "text.weights={w}/bad.pth"],
     "text.weights: "),
    ("corrupt image weights", ["train", *TINY, "--steps", "1", "--out", "{w}/r",
                               "--set", "image.weights={w}/bad.safetensors"], "bad.safetensors"),
    ("corrupt captions pickle", ["train", *TINY, "--steps", "1", "--out", "{w}/r",
                                 "--set", "text.vocabulary={w}/bad.pickle"], "bad.pickle"),
    ("pickle bomb", ["train", *TINY, "--steps", "1", "--out", "{w}/r", "--set", "text.vocabulary={w}/bomb.pickle"],
     "refusing bytes(100000000)"),
    ("hostile pickle", ["train", *TINY, "--steps", "1", "--out", "{w}/r", "--set", "text.vocabulary={w}/evil.pickle"],
     "refusing to load global posix.system"),
    ("corrupt vocabulary json", ["train", *TINY, "--steps", "1", "--out", "{w}/r",
                                 "--set", "text.vocabulary={w}/bad.json"], "bad.json"),
]
OUTPUTS: list[Row] = [  # places that cannot be written
    ("train out is a file", ["train", *TINY, "--steps", "1", "--out", "{file}"], "--out: "),
    ("sample out under a file", ["sample", "--checkpoint", "{run}", "--caption", "a", "--out", "{file}/s"], "{file}"),
    ("eval out under a file", ["eval", "--checkpoint", "{run}", "--metrics", "rprec", "--out", "{file}/e.json"],
     "{file}"),
    ("eval out is a folder", ["eval", "--checkpoint", "{run}", "--metrics", "rprec", "--out", "{w}"], "is a folder"),
]

TABLE: list[Row] = [*SIZES, *NAMES, *CONFIG, *CAPTIONS, *FILES, *OUTPUTS]


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory, trained_run):
    """Bad files next to copies of the trained run, broken in every way the table needs."""
    import pickle

    w = tmp_path_factory.mktemp("bad_inputs")
    step = list_checkpoints(trained_run)[-1]
    for name in ("truncated", "flipped", "badmeta", "badlatest"):
        shutil.copytree(trained_run, w / name)
    ema = lambda run: run / "checkpoints" / step.name / "generator_ema.safetensors"  # noqa: E731
    ema(w / "truncated").write_bytes(ema(w / "truncated").read_bytes()[:100])
    data = bytearray(ema(w / "flipped").read_bytes())
    data[-5] ^= 0xFF
    ema(w / "flipped").write_bytes(bytes(data))
    (w / "badmeta" / "checkpoints" / step.name / "meta.json").write_text('{"format": ')
    (w / "badlatest" / "checkpoints" / "latest.json").write_text("not json")
    ck = load_checkpoint(trained_run)
    for group in ck.tensors.values():
        for tensor in group.values():
            if tensor.is_floating_point():
                tensor.fill_(float("nan"))
    save_checkpoint(w / "nanrun", ck.step, tensors=ck.tensors, state=ck.state, config=ck.config, check_finite=False)
    (w / "bad.yaml").write_text("model: [\n")
    (w / "bad.pth").write_bytes(b"garbage" * 10)
    (w / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    (w / "evil.pth").write_bytes(pickle.dumps(_RunsCode()))
    torch.save({"x": torch.ones(1)}, w / "g.pth")
    (w / "bad.pickle").write_bytes(b"\x80\x02]q\x00(K\x01")  # truncated
    (w / "bomb.pickle").write_bytes(b"\x80\x02c__builtin__\nbytes\nJ\x00\xe1\xf5\x05\x85R.")  # bytes(10**8): 29 bytes
    (w / "evil.pickle").write_bytes(pickle.dumps(_RunsCode(), protocol=2))
    (w / "bad.json").write_text('{"words": ["<end>", "a", "a"]}')  # duplicate word
    (w / "afile").write_text("x")
    return w


def _fill(arg: str, run, w) -> str:
    return arg.replace("{run}", str(run)).replace("{w}", str(w)).replace("{file}", str(w / "afile"))


def _check_one_error_line(err: str, command: str, expected: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if ": error: " in line]
    assert "Traceback" not in err, err
    assert len(errors) == 1 and lines[-1] == errors[0], err  # informational lines (the training banner) may precede
    prefix = f"fusionblocks {command}: error: " if command else "fusionblocks: error: "
    assert errors[0].startswith(prefix) or errors[0].startswith("fusionblocks: error: "), err
    assert expected in errors[0], (expected, err)


@pytest.mark.parametrize("case, argv, expected", TABLE, ids=[row[0] for row in TABLE])
def test_user_error_is_one_line_exit_2(case, argv, expected, trained_run, scratch, capsys, monkeypatch):
    from fusionblocks.train.trainer import Trainer

    def no_training(self, batch):  # every row must fail before the first step; a regression fails fast here
        raise AssertionError(f"row {case!r} reached training")

    monkeypatch.setattr(Trainer, "train_step", no_training)
    monkeypatch.chdir(scratch)
    argv = [_fill(a, trained_run, scratch) for a in argv]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors exit from inside the parser
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, (case, err)
    command = argv[0] if argv and not argv[0].startswith("-") and argv[0] in {
        "train", "sample", "eval", "list", "info", "convert", "pretrain-damsm"} else ""
    _check_one_error_line(err, command, _fill(expected, trained_run, scratch))
    assert not (scratch / "PWNED").exists()


def test_unwritable_eval_output_fails_before_sampling(trained_run, capsys, monkeypatch):
    target = "/sys/fusionblocks_eval.json"  # sysfs refuses new files, even to root
    try:
        open(target, "ab").close()
    except PermissionError:
        pass
    else:  # pragma: no cover - not Linux
        pytest.skip("no read-only location to write to")
    import importlib

    evaluate_module = importlib.import_module("fusionblocks.metrics.evaluate")  # the package's name is the function

    def no_sampling(*args, **kwargs):
        raise AssertionError("sampled before checking --out")

    monkeypatch.setattr(evaluate_module, "evaluate", no_sampling)
    assert main(["eval", "--checkpoint", str(trained_run), "--metrics", "rprec", "--out", target]) == 2
    _check_one_error_line(capsys.readouterr().err, "eval", f"{target}: Permission denied [EACCES]")


def test_full_disk_during_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FUSIONBLOCKS_FAULT", "atomic.before_replace:enospc")
    assert main(["train", *TINY, "--steps", "1", "--sample-every", "0", "--out", str(tmp_path / "r")]) == 2
    _check_one_error_line(capsys.readouterr().err, "train", "could not save the checkpoint of step 1: No space left")
    assert not list_checkpoints(tmp_path / "r")


def test_run_folder_in_use(trained_run, capsys):
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child holds the run folder until it is killed
        try:
            RunFolderLock(trained_run).acquire()
            os.write(write_end, b"x")
            signal.pause()
        finally:
            os._exit(0)
    try:
        os.read(read_end, 1)
        code = main(["train", "--out", str(trained_run), "--resume", "--steps", "3", "--no-progress",
                     "--device", "cpu", "--precision", "fp32"])
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert code == 2
    _check_one_error_line(capsys.readouterr().err, "train", f"in use by another fusionblocks process (PID {pid})")
    assert load_checkpoint(trained_run).step == 1


def test_a_bug_keeps_its_traceback(monkeypatch):
    from fusionblocks.cli import list_cmd

    def broken(args):
        raise RuntimeError("a bug, not a user error")

    monkeypatch.setattr(list_cmd, "run", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["list"])


def test_debug_shows_the_traceback_of_user_errors(tmp_path):
    with pytest.raises(ValueError, match="--preset"):
        main(["--debug", "train", "--out", str(tmp_path / "r")])
