"""The seed's DAMSM text and image encoders: pre-trained once per seed (as the demo does, on the ablation's scenes),
shared by the DAMSM variants and used by every variant's evaluation. A finished folder is reused."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from .ablation_settings import AblationSettings, AblationUsageError
from .ablation_variants import PRESET, VARIANTS, variant_overrides
from .recorded_settings import with_field_defaults

__all__ = ["DAMSM_FILES", "pretrained_damsm", "damsm_weights", "build_evaluator"]

#: What a finished encoder folder holds (``complete.json`` is written last).
DAMSM_FILES = ("text_encoder.safetensors", "image_encoder.safetensors", "vocabulary.json", "complete.json")


def damsm_weights(folder: Path) -> dict[str, str]:
    """Placeholder values pointing at the encoders in ``folder``."""
    return {
        "damsm_text": str(folder / "text_encoder.safetensors"),
        "damsm_image": str(folder / "image_encoder.safetensors"),
    }


def _base_gan(settings: AblationSettings, values: dict[str, Any], seed: int) -> Any:
    """The reference variant's GAN (its encoders are the DAMSM ones), built after seeding."""
    from fusionblocks.ffgan import build_ffgan
    from fusionblocks.train.rng import seed_everything

    seed_everything(seed)
    overrides = variant_overrides(VARIANTS[0], values, {"train.batch_size": settings.batch_size},
                                  relations=settings.damsm_relations)
    return build_ffgan(PRESET, **overrides)


def _check_reusable(folder: Path, settings: AblationSettings, seed: int) -> bool:
    marker = folder / "complete.json"
    if not marker.is_file():
        return False
    recorded = with_field_defaults(json.loads(marker.read_text()), AblationSettings)
    wanted = {"seed": seed, **settings.damsm_dict()}
    got = {key: recorded.get(key) for key in wanted}
    if got != wanted:
        raise AblationUsageError(
            f"--out: {folder} holds DAMSM encoders made with other settings ({got} instead of {wanted}); "
            "use another --out or remove that folder"
        )
    return True


def pretrained_damsm(folder: Path, settings: AblationSettings, seed: int, log: Any = print) -> dict[str, Any]:
    """Pre-train the seed's DAMSM encoders into ``folder`` unless a finished copy is there; returns its record.

    Same recipe as the demo's: Adam lr ``settings.damsm_lr``, ``settings.damsm_negatives`` hard negatives per
    image, no same-class masking, on the train split of the ablation's one- and two-object scenes.

    Raises:
        AblationUsageError: ``folder`` holds encoders made with other settings.
    """
    import torch
    from torch.utils.data import DataLoader

    from fusionblocks.data import CaptionedShapes, collate_captions
    from fusionblocks.train.damsm_pretrain import pretrain_damsm

    if _check_reusable(folder, settings, seed):
        log(f"[ablation] seed {seed}: reusing the DAMSM encoders in {folder}")
        return json.loads((folder / "complete.json").read_text())
    # pre-train into a private folder and rename it into place when finished, so that parallel invocations on one
    # output folder never see half-written encoders (the first to finish wins; the others use its encoders)
    work = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    if work.exists():
        shutil.rmtree(work)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    gan = _base_gan(settings, {"damsm_text": None, "damsm_image": None}, seed)
    cfg = gan.config
    dataset = CaptionedShapes(
        resolution=cfg.model.image_size, split="train", seed=seed, captions_per_image=cfg.data.captions_per_image,
        hard_negatives=settings.damsm_negatives,
        mirror_negatives=settings.damsm_relations and settings.damsm_negatives > 0, cache=True,
        **{k: v for k, v in cfg.data.kwargs.items() if k != "hard_negatives"},
    )
    loader = DataLoader(dataset, batch_size=settings.damsm_batch_size, shuffle=True, drop_last=True,
                        collate_fn=collate_captions, generator=torch.Generator().manual_seed(seed))
    text, image = gan.text_encoder, gan.image_encoder
    for module in (text, image):
        module.unfreeze() if hasattr(module, "unfreeze") else module.requires_grad_(True)
    history = pretrain_damsm(text, image, loader, steps=settings.damsm_steps, lr=settings.damsm_lr,
                             out_dir=work, log_every=0, mask_same_class=False)
    tail = history.loss[-10:]
    record = {
        "seed": seed, **settings.damsm_dict(),
        "first_loss": history.loss[0], "last_loss": sum(tail) / len(tail),
        "cpu_seconds": time.process_time() - cpu0, "wall_seconds": time.perf_counter() - wall0,
    }
    (work / "complete.json").write_text(json.dumps(record, indent=2) + "\n")
    try:
        work.rename(folder)
    except OSError:  # another invocation finished first: use its encoders
        shutil.rmtree(work)
        if not _check_reusable(folder, settings, seed):
            raise
        return json.loads((folder / "complete.json").read_text())
    log(f"[ablation] seed {seed}: DAMSM pre-training {settings.damsm_steps} steps, loss {record['first_loss']:.2f} "
        f"-> {record['last_loss']:.2f} ({record['cpu_seconds']:.0f} CPU s)")
    return record


def build_evaluator(folder: Path, settings: AblationSettings, seed: int) -> tuple[Any, Any]:
    """The seed's DAMSM ``(text_encoder, image_encoder)``, frozen, loaded from ``folder``."""
    gan = _base_gan(settings, damsm_weights(folder), seed)
    return gan.text_encoder, gan.image_encoder
