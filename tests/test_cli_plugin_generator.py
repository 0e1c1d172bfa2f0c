"""A plugin generator and discriminator, discovered through an entry point, build, train and sample through the CLI."""

from __future__ import annotations

import sys
import textwrap

from PIL import Image

from fusionblocks.cli import main
from fusionblocks.ffgan import preset_config
from fusionblocks.registry import get_registry, load_plugins
from fusionblocks.train import smoke_overrides
from fusionblocks.train.checkpoint import load_checkpoint

PLUGIN = textwrap.dedent(
    '''
    """A third party's tiny generator and discriminator (built with the builder's standard keywords)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    from fusionblocks import register
    from fusionblocks.models import DiscriminatorOutput, GeneratorOutput


    @register("discriminator", "cliplug.tiny_disc")
    class TinyDiscriminator(nn.Module):
        def __init__(self, image_size, sentence_dim):
            super().__init__()
            self.trunk = nn.Sequential(nn.Conv2d(3, 8, 4, 4), nn.LeakyReLU(0.2))
            self.proj = nn.Linear(sentence_dim, 8)

        def forward(self, images, sentence=None, wrong_sentence=None):
            f = self.trunk(images)
            pooled = f.mean((2, 3))
            cond = None if sentence is None else (pooled * self.proj(sentence)).sum(1)
            wrong = None if wrong_sentence is None else (pooled * self.proj(wrong_sentence)).sum(1)
            return DiscriminatorOutput(features=f, cond=cond, uncond=None, wrong=wrong)


    @register("generator", "cliplug.tiny_gen", discriminator="cliplug.tiny_disc")
    class TinyGenerator(nn.Module):
        def __init__(self, z_dim, word_dim, sentence_dim, image_size):
            super().__init__()
            self.z_dim, self.image_sizes = z_dim, [image_size]
            self.fc = nn.Linear(z_dim + sentence_dim, 8 * 16)
            self.to_rgb = nn.Conv2d(8, 3, 3, padding=1)

        def forward(self, z, sentence, words, mask, *, return_attention=True):
            h = self.fc(torch.cat([z, sentence], 1)).view(-1, 8, 4, 4)
            h = F.interpolate(h, size=self.image_sizes[0])
            return GeneratorOutput(images=[torch.tanh(self.to_rgb(h))])
    '''
)


def test_a_plugin_generator_builds_trains_and_samples_through_the_cli(tmp_path, monkeypatch):
    (tmp_path / "cliplug.py").write_text(PLUGIN)
    dist = tmp_path / "cliplug-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: cliplug\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[fusionblocks.plugins]\ncliplug = cliplug\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert "cliplug" in load_plugins(force=True)
        base = preset_config("dfgan")
        config = base.with_overrides({**smoke_overrides(base), "model.arch": "cliplug.tiny_gen"})
        config.to_yaml(tmp_path / "plugin.yaml")
        run, samples = tmp_path / "run", tmp_path / "samples"
        assert main(["train", "--config", str(tmp_path / "plugin.yaml"), "--out", str(run), "--steps", "2",
                     "--device", "cpu", "--no-progress", "--threads", "1", "--allow-random-encoders"]) == 0
        ck = load_checkpoint(run)
        assert ck.step == 2 and ck.config["model"]["arch"] == "cliplug.tiny_gen"
        assert set(ck.tensors["generator"]) == {"fc.weight", "fc.bias", "to_rgb.weight", "to_rgb.bias"}
        assert set(ck.tensors["discriminators"]) == {"0.trunk.0.weight", "0.trunk.0.bias", "0.proj.weight",
                                                     "0.proj.bias"}
        assert main(["sample", "--checkpoint", str(run), "--caption", "a large red circle", "--out",
                     str(samples)]) == 0
        assert Image.open(samples / "000_a_large_red_circle_0.png").size == (16, 16)
    finally:
        for kind, name in (("generator", "cliplug.tiny_gen"), ("discriminator", "cliplug.tiny_disc")):
            if name in get_registry(kind).names():
                get_registry(kind).unregister(name)
        sys.modules.pop("cliplug", None)
