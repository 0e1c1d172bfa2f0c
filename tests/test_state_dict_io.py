"""The one reader of external weight files: formats, wrappers, and one kind of error (naming the file) per failure."""

from __future__ import annotations

import os
import pickle

import pytest
import torch
from safetensors.torch import save_file

from fusionblocks.state_dict_io import read_state_dict

STATE = {"a.weight": torch.randn(3, 2), "a.bias": torch.randn(3)}


def _same(loaded: dict, expected: dict) -> bool:
    return loaded.keys() == expected.keys() and all(torch.equal(loaded[k], expected[k]) for k in expected)


def test_formats_wrappers_and_prefix(tmp_path) -> None:
    save_file(STATE, str(tmp_path / "w.safetensors"))
    torch.save({"state_dict": {"module." + k: v for k, v in STATE.items()}}, tmp_path / "w.pth")
    torch.save({"netG": STATE}, tmp_path / "g.pth")
    assert _same(read_state_dict(tmp_path / "w.safetensors", "weights"), STATE)
    assert _same(read_state_dict(str(tmp_path / "w.pth"), "weights"), STATE)
    assert _same(read_state_dict(tmp_path / "g.pth", "weights", wrappers=("netG",)), STATE)
    assert _same(read_state_dict(STATE, "weights"), STATE)
    kept = read_state_dict({"module.x": torch.ones(1)}, "weights", strip_prefix="")
    assert list(kept) == ["module.x"]


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


BAD_FILES = [  # (file name, content, what the message must say)
    ("w.safetensors", b"not a safetensors file at all", "not a readable .safetensors file"),
    ("w.safetensors", b"", "not a readable .safetensors file"),
    ("w.pth", b"\x00garbage" * 20, "not a readable PyTorch weights file"),
    ("w.pth", b"", "not a readable PyTorch weights file"),
    ("w.pth", "truncated", "not a readable PyTorch weights file"),
    ("w.pth", b"hello world" * 20, "not a readable PyTorch weights file"),
    ("w.pth", pickle.dumps(_RunsCode()), "not a readable PyTorch weights file"),
    ("w.pth", "list", "does not hold a state dict"),
    ("w.pth", "strings", "non-tensor entries"),
]


@pytest.mark.parametrize("name, content, message", BAD_FILES)
def test_bad_files_raise_value_error_naming_the_file(tmp_path, monkeypatch, name, content, message) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / name
    if content == "truncated":
        torch.save(STATE, path)
        path.write_bytes(path.read_bytes()[:100])
    elif content == "list":
        torch.save([torch.ones(1)], path)
    elif content == "strings":
        torch.save({"a": "b"}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as err:
        read_state_dict(path, "image.weights")
    text = str(err.value)
    assert text.startswith("image.weights: ") and str(path) in text and "\n" not in text
    assert not (tmp_path / "PWNED").exists()


def test_missing_folder_and_wrong_type(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="weights: no such file .*nope.pth"):
        read_state_dict(tmp_path / "nope.pth", "weights")
    with pytest.raises(ValueError, match="is a folder"):
        read_state_dict(tmp_path, "weights")
    with pytest.raises(TypeError, match="weights: expected a file path or a state dict, got int"):
        read_state_dict(3, "weights")  # type: ignore[arg-type]


def test_every_weight_loader_uses_it(tmp_path) -> None:
    """The DAMSM text/image loaders, the official-checkpoint converter and the Inception loader fail alike."""
    from fusionblocks.ffgan import load_official
    from fusionblocks.image import load_damsm_image_encoder
    from fusionblocks.metrics import load_inception_state_dict
    from fusionblocks.text import load_damsm_text_encoder

    bad = tmp_path / "corrupt.pth"
    bad.write_bytes(b"\x00garbage" * 20)
    loaders = [
        lambda: load_damsm_text_encoder(bad),
        lambda: load_damsm_image_encoder(bad),
        lambda: load_official(bad, "generator"),
        lambda: load_inception_state_dict(bad),
    ]
    for load in loaders:
        with pytest.raises(ValueError, match="corrupt.pth' is not a readable PyTorch weights file"):
            load()
