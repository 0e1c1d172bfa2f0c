"""A tiny conditional GAN that follows the BuiltGAN / Recipe contracts, for fast trainer tests.

Generator: z ⊕ sentence → 4×4 features → BatchNorm → two outputs (8², 16²) and a fake word-attention map.
Discriminators: one small conv net per scale with a sentence-conditioned logit. Recipe: hinge D step per scale,
then a G step with the discriminators frozen. Text encoder: a bag of hashed word embeddings (frozen).
"""

from __future__ import annotations

import contextlib
import zlib
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from fusionblocks.models.outputs import GeneratorOutput
from fusionblocks.text import TextFeatures
from fusionblocks.train.recipes import TrainBatch, TrainModules


class ToyText(nn.Module):
    def __init__(self, dim: int = 8, buckets: int = 64) -> None:
        super().__init__()
        self.word_dim = self.sentence_dim = dim
        self.buckets = buckets
        self.emb = nn.Embedding(buckets, dim)

    def forward(self, captions, lengths=None) -> TextFeatures:
        toks = [[zlib.crc32(w.encode()) % self.buckets for w in c.lower().split()] or [0] for c in captions]
        t = max(len(x) for x in toks)
        ids = torch.zeros(len(toks), t, dtype=torch.long, device=self.emb.weight.device)
        mask = torch.zeros(len(toks), t, dtype=torch.bool, device=ids.device)
        for i, x in enumerate(toks):
            ids[i, : len(x)] = torch.tensor(x, device=ids.device)
            mask[i, : len(x)] = True
        words = self.emb(ids) * mask[..., None]
        sentence = words.sum(1) / mask.sum(1, keepdim=True)
        return TextFeatures(words=words, sentence=sentence, mask=mask)


class ToyG(nn.Module):
    def __init__(self, z_dim: int = 4, text_dim: int = 8, ch: int = 8) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.fc = nn.Linear(z_dim + text_dim, ch * 16)
        self.bn = nn.BatchNorm2d(ch)
        self.up1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.up2 = nn.Conv2d(ch, ch, 3, padding=1)
        self.rgb1 = nn.Conv2d(ch, 3, 1)
        self.rgb2 = nn.Conv2d(ch, 3, 1)
        self.ch = ch

    def forward(self, z, sentence, words, mask, *, return_attention: bool = True) -> GeneratorOutput:
        h = self.fc(torch.cat([z, sentence], 1)).view(-1, self.ch, 4, 4)
        h = F.relu(self.bn(h))
        h1 = F.relu(self.up1(F.interpolate(h, scale_factor=2.0)))
        h2 = F.relu(self.up2(F.interpolate(h1, scale_factor=2.0)))
        att = torch.softmax((words @ words.transpose(1, 2)).sum(-1), -1)[..., None, None].expand(-1, -1, 16, 16)
        images = [torch.tanh(self.rgb1(h1)), torch.tanh(self.rgb2(h2))]
        return GeneratorOutput(images=images, attention=[att] if return_attention else [])


class ToyD(nn.Module):
    def __init__(self, text_dim: int = 8, ch: int = 8) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, ch, 3, stride=2, padding=1)
        self.proj = nn.Linear(text_dim, ch)
        self.out = nn.Linear(ch, 1)

    def forward(self, x, sentence):
        h = F.leaky_relu(self.conv(x), 0.2).mean((2, 3))
        return self.out(h).squeeze(1) + (h * self.proj(sentence)).sum(1)


@dataclass
class ToyRecipe:
    name: str = "toy"
    ema_decay: float | None = 0.9
    lr: float = 1e-2
    fail_at_step: int | None = None  # make the loss NaN at this call number
    calls: int = field(default=0, init=False)

    def build_optimizers(self, generator, discriminators, *, fused=None):
        opts = {"g": torch.optim.Adam(generator.parameters(), lr=self.lr, betas=(0.5, 0.999))}
        for i, d in enumerate(discriminators):
            opts[f"d{i}"] = torch.optim.Adam(d.parameters(), lr=self.lr, betas=(0.5, 0.999))
        return opts

    def iteration(self, modules: TrainModules, batch: TrainBatch, optimizers, *, autocast=contextlib.nullcontext):
        self.calls += 1
        with torch.no_grad():
            text = modules.text_encoder(batch.captions)
        b = batch.images[0].shape[0]
        z = torch.randn(b, 4, device=batch.images[0].device)
        with autocast():
            fake = modules.generator(z, text.sentence, text.words, text.mask)
        losses: dict[str, torch.Tensor] = {}
        for i, d in enumerate(modules.discriminators):
            optimizers[f"d{i}"].zero_grad(set_to_none=True)
            with autocast():
                real = d(batch.images[i], text.sentence)
                fk = d(fake.images[i].detach(), text.sentence)
                loss = F.relu(1 - real).mean() + F.relu(1 + fk).mean()
            loss.backward()
            optimizers[f"d{i}"].step()
            losses[f"d{i}"] = loss.detach()
        for d in modules.discriminators:
            d.requires_grad_(False)
        optimizers["g"].zero_grad(set_to_none=True)
        with autocast():
            g_loss = sum(-d(fake.images[i], text.sentence).mean() for i, d in enumerate(modules.discriminators))
        if self.fail_at_step is not None and self.calls >= self.fail_at_step:
            g_loss = g_loss * float("nan")
        g_loss.backward()
        optimizers["g"].step()
        for d in modules.discriminators:
            d.requires_grad_(True)
        losses["g_adv"] = g_loss.detach()
        return losses


@dataclass
class ToyGAN:
    generator: nn.Module
    discriminators: nn.ModuleList
    text_encoder: nn.Module
    image_encoder: Any
    recipe: ToyRecipe
    config: dict
    image_sizes: tuple[int, ...] = (8, 16)


def build_toy(seed: int = 0, **recipe_kwargs: Any) -> ToyGAN:
    torch.manual_seed(seed)
    return ToyGAN(
        generator=ToyG(),
        discriminators=nn.ModuleList([ToyD(), ToyD()]),
        text_encoder=ToyText(),
        image_encoder=None,
        recipe=ToyRecipe(**recipe_kwargs),
        config={"model": "toy", "seed": seed},
    )


def ddp_worker(rank: int, world: int, port: int, out_dir: str, steps: int) -> None:
    """One rank of the 2-process gloo test: train the toy GAN, then write this rank's parameter hashes."""
    import json
    import os

    import torch.distributed as dist

    from fusionblocks.data import CaptionedShapes
    from fusionblocks.train.distributed import parameter_hash
    from fusionblocks.train.trainer import Trainer, TrainerConfig

    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank), LOCAL_RANK=str(rank)
    )
    torch.set_num_threads(1)
    gan = build_toy(seed=rank)  # different init per rank: DDP must broadcast rank 0's weights
    cfg = TrainerConfig(steps=steps, batch_size=2, precision="fp32", device="cpu", sample_every=0, checkpoint_every=0,
                        progress=False, tensorboard=False, num_samples=2, log_every=1)
    trainer = Trainer(gan, CaptionedShapes(size=16, resolution=16, seed=0, max_objects=1), out_dir, cfg)
    trainer.fit()
    seen = sorted(trainer.sampler)  # this rank's shard of the last epoch
    hashes = {
        "generator": parameter_hash(trainer.generator, buffers=False),
        "discriminators": parameter_hash(trainer.discriminators, buffers=False),
        "ema": parameter_hash(trainer.ema.module, buffers=False),
        "shard": seen,
        "world": trainer.dist.world_size,
    }
    # the real FF-GAN recipe (tiny sizes), in the same process group: SN discriminators, DAMSM, frozen-D G step
    from fusionblocks.ffgan import build_ffgan, preset_config
    from fusionblocks.train.smoke import smoke_overrides

    torch.manual_seed(100 + rank)
    ff = build_ffgan("tiny64", **smoke_overrides(preset_config("tiny64")))
    # the loop settings come from the model config (batch 4, fp32), as under `torchrun -m fusionblocks train`
    ff_trainer = Trainer(ff, CaptionedShapes(size=16, resolution=16, seed=0, max_objects=1),
                         os.path.join(out_dir, "ffgan"), steps=steps, device="cpu", progress=False, num_samples=2)
    ff_trainer.fit()
    hashes["ffgan_batch_size"] = ff_trainer.cfg.batch_size
    # epochs count the batches of this rank's shard: 16 items / 2 ranks / batch 2 = 4 per epoch
    by_epochs = Trainer(build_toy(seed=rank), CaptionedShapes(size=16, resolution=16, seed=0, max_objects=1),
                        os.path.join(out_dir, "epochs"), TrainerConfig(epochs=2, batch_size=2, device="cpu"))
    hashes["epoch_steps"] = by_epochs.total_steps
    hashes["ffgan_generator"] = parameter_hash(ff_trainer.generator, buffers=False)
    hashes["ffgan_discriminators"] = parameter_hash(ff_trainer.discriminators, buffers=False)
    hashes["ffgan_text_encoder"] = parameter_hash(ff_trainer.text_encoder)
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
        json.dump(hashes, f)
    dist.destroy_process_group()
