"""The benchmark cases: reference vs fusionblocks on the same weights and data.

Every builder returns a :class:`~benchmarks.harness.Case` whose first variant is the reference (official
formulation, fp32, NCHW) and whose other variants are fusionblocks with its fast paths switched on one by one.
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from .harness import Case

__all__ = ["make_ffblock", "make_rprecision", "make_sampling", "make_train", "make_word_loss", "random_captions"]

VOCAB = 5450  # CUB vocabulary (docs/ffgan.md "DAMSM encoders")


def random_captions(
    batch: int, max_words: int, rng: np.random.Generator, min_words: int = 6, vocab: int = VOCAB
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random token ids, 0-padded, sorted by decreasing length (as the official loader sorts the batch).

    Shapes:
        tokens ``(batch, max_words)`` long; lengths ``(batch,)`` long.
    """
    lens = np.sort(rng.integers(min_words, max_words + 1, size=batch))[::-1].copy()
    lens[0] = max_words  # the longest caption fixes T, as in a real batch most of the time
    tokens = rng.integers(1, vocab, size=(batch, max_words))
    tokens[np.arange(max_words)[None, :] >= lens[:, None]] = 0
    return torch.as_tensor(tokens, dtype=torch.long), torch.as_tensor(lens, dtype=torch.long)


def _autocast(device: torch.device, enabled: bool) -> Callable[[], contextlib.AbstractContextManager]:
    if not enabled:
        return contextlib.nullcontext
    return lambda: torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def _to_channels_last(module: nn.Module) -> nn.Module:
    return module.to(memory_format=torch.channels_last)


# ----------------------------------------------------------------------------------------------------------------
# Full training iteration
# ----------------------------------------------------------------------------------------------------------------


def build_library_gan(device: torch.device) -> Any:
    """``fusionblocks.ffgan.build_ffgan("cub256")`` (PyTorch default init: weights are copied in afterwards)."""
    from fusionblocks.ffgan import build_ffgan

    return build_ffgan("cub256", model__init="default").to(device)


def load_library_from_reference(gan: Any, ref: Any) -> None:
    """Copy every reference weight into the built fusionblocks GAN."""
    from .mapping import (
        load_discriminator_from_reference,
        load_generator_from_reference,
        load_image_encoder_from_reference,
        load_text_encoder_from_reference,
    )

    load_generator_from_reference(gan.generator, ref.netG)
    for lib_d, ref_d in zip(gan.discriminators, ref.netsD):
        load_discriminator_from_reference(lib_d, ref_d)
    load_text_encoder_from_reference(gan.text_encoder, ref.text_encoder)
    if gan.image_encoder is not None:
        load_image_encoder_from_reference(gan.image_encoder, ref.image_encoder)


class LibraryTrainer:
    """fusionblocks' iteration as the trainer runs it: ``recipe.iteration`` + EMA update.

    Args:
        gan: A built GAN (its modules are used in place, or converted to channels-last).
        device: Device.
        bf16: bf16 autocast.
        channels_last: Convert the convolutional modules and the real images to channels-last.
        compile: ``torch.compile`` the generator and discriminators.
        fused: Fused Adam (default on, as the trainer uses it on CPU and CUDA).
    """

    def __init__(
        self,
        gan: Any,
        device: torch.device,
        bf16: bool = False,
        channels_last: bool = False,
        compile: bool = False,
        fused: bool | None = None,
    ) -> None:
        from fusionblocks.train.ema import ModelEMA
        from fusionblocks.train.recipes import TrainModules

        self.gan = gan
        self.device = device
        self.channels_last = channels_last
        if channels_last:
            for m in (gan.generator, gan.discriminators, gan.image_encoder):
                if m is not None:
                    _to_channels_last(m)
        if fused is None:
            fused = device.type in ("cuda", "cpu")
        self.optimizers = gan.recipe.build_optimizers(gan.generator, list(gan.discriminators), fused=fused)
        self.ema = ModelEMA(gan.generator, decay=0.999)
        g, ds = gan.generator, list(gan.discriminators)
        if compile:
            g = torch.compile(g)
            ds = [torch.compile(d) for d in ds]
        self.modules = TrainModules(
            generator=g, discriminators=ds, text_encoder=gan.text_encoder, image_encoder=gan.image_encoder
        )
        self.autocast = _autocast(device, bf16)

    def step(self, batch: Any) -> dict[str, torch.Tensor]:
        losses = self.gan.recipe.iteration(self.modules, batch, self.optimizers, autocast=self.autocast)
        self.ema.update(self.gan.generator)
        return losses


def make_train(
    device: torch.device,
    batch: int,
    variants: tuple[str, ...] = ("fp32", "fp32+channels_last", "bf16", "bf16+channels_last"),
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> Case:
    """One full FF-GAN training iteration at cub256: three D steps and the G step with DAMSM (+ EMA)."""
    from fusionblocks.train.recipes import TrainBatch

    from .reference import build_reference

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    log("  building the reference (cub256) ...")
    ref = build_reference(device=str(device))
    log("  building fusionblocks cub256 and copying the reference weights ...")
    base = build_library_gan(device)
    load_library_from_reference(base, ref)

    imgs = [torch.rand(batch, 3, s, s, device=device) * 2 - 1 for s in (64, 128, 256)]
    tokens, lens = random_captions(batch, 18, rng)
    tokens, lens = tokens.to(device), lens.to(device)
    class_np = rng.integers(0, 150, size=batch)
    class_t = torch.as_tensor(class_np, device=device)

    def ref_step() -> None:
        ref.step(imgs, tokens, lens, class_np)

    out: dict[str, Callable[[], Any]] = {"reference fp32": ref_step}
    for i, name in enumerate(variants):
        gan = base if i == 0 else copy.deepcopy(base)
        bf16 = "bf16" in name
        cl = "channels_last" in name
        fused = None if "unfused_adam" in name else True  # the trainer's default: fused Adam
        trainer = LibraryTrainer(
            gan, device, bf16=bf16, channels_last=cl, compile="compile" in name, fused=fused
        )
        images = [x.contiguous(memory_format=torch.channels_last) for x in imgs] if cl else imgs
        tb = TrainBatch(images=images, captions=None, tokens=tokens, lengths=lens, class_ids=class_t)
        out[f"fusionblocks {name}"] = (lambda t=trainer, b=tb: t.step(b))
    return Case(
        name=f"train_iter_b{batch}",
        description=f"cub256 training iteration (3 D steps + G step with DAMSM + EMA), batch {batch}",
        variants=out,
        items=batch,
        params={"batch": batch, "preset": "cub256", "words": 18},
    )


# ----------------------------------------------------------------------------------------------------------------
# Generator sampling
# ----------------------------------------------------------------------------------------------------------------


def make_sampling(device: torch.device, batch: int, seed: int = 0, log: Callable[[str], None] = print) -> Case:
    """Generator forward in eval mode (all three scales). Reference: as the official eval loop (autograd on)."""
    from fusionblocks.models import StackedGenerator

    from .mapping import load_generator_from_reference
    from .reference import G_NET

    torch.manual_seed(seed)
    ref = G_NET().to(device).eval()
    lib = StackedGenerator(mask_padding=False, ca_sample_in_eval=True).to(device)
    load_generator_from_reference(lib, ref)
    lib.eval()
    lib_cl = _to_channels_last(copy.deepcopy(lib))
    z = torch.randn(batch, 100, device=device)
    s = torch.randn(batch, 256, device=device)
    w = torch.randn(batch, 18, 256, device=device)
    w_ref = w.transpose(1, 2).contiguous()
    mask = torch.ones(batch, 18, dtype=torch.bool, device=device)

    def ref_fn() -> None:
        ref(z, s, w_ref)

    def lib_fn(model: nn.Module, bf16: bool) -> Callable[[], None]:
        def fn() -> None:
            with torch.inference_mode(), _autocast(device, bf16)():
                model(z, s, w, mask)

        return fn

    return Case(
        name=f"sampling_b{batch}",
        description=f"generator sampling (eval, 64²+128²+256² outputs), batch {batch}; throughput in images/s",
        variants={
            "reference fp32": ref_fn,
            "fusionblocks fp32": lib_fn(lib, False),
            "fusionblocks bf16": lib_fn(lib, True),
            "fusionblocks bf16+channels_last": lib_fn(lib_cl, True),
        },
        items=batch,
        params={"batch": batch},
        notes=["reference runs with autograd on, as the official eval loop does on current PyTorch"],
    )


# ----------------------------------------------------------------------------------------------------------------
# FF-Block at 128²
# ----------------------------------------------------------------------------------------------------------------


def make_ffblock(
    device: torch.device, batch: int, size: int = 128, words: int = 18, seed: int = 0, log: Callable[[str], None] = print
) -> Case:
    """FF-Block (word attention + ACM) forward + backward at ``size``² with ``words`` words, 64 channels."""
    from fusionblocks.layers import FFBlock

    from .reference import ACM, WordAttention

    torch.manual_seed(seed)
    att, acm = WordAttention(64, 256).to(device), ACM(64).to(device)
    lib = FFBlock(64, 256, mask_padding=False).to(device)
    with torch.no_grad():
        lib.attention.proj.weight.copy_(att.conv_context.weight.flatten(1))
        lib.affine.hidden.weight.copy_(acm.conv.weight)
        lib.affine.gamma.weight.copy_(acm.conv_weight.weight)
        lib.affine.beta.weight.copy_(acm.conv_bias.weight)
    lib_cl = _to_channels_last(copy.deepcopy(lib))
    x = torch.randn(batch, 64, size, size, device=device, requires_grad=True)
    x_cl = x.detach().contiguous(memory_format=torch.channels_last).requires_grad_(True)
    w = torch.randn(batch, words, 256, device=device)
    w_ref = w.transpose(1, 2).contiguous()
    mask = torch.ones(batch, words, dtype=torch.bool, device=device)

    def ref_fn() -> None:
        c, _ = att(x, w_ref)
        acm(x, c).sum().backward()

    def lib_fn(
        model: nn.Module, inp: torch.Tensor, bf16: bool, return_attention: bool
    ) -> Callable[[], None]:
        def fn() -> None:
            with _autocast(device, bf16)():
                out = model(inp, w, mask, return_attention=return_attention)
                out = out[0] if return_attention else out
                loss = out.float().sum()
            loss.backward()

        return fn

    return Case(
        name=f"ffblock_{size}",
        description=f"FF-Block forward+backward, batch {batch}, 64 ch, {size}², T={words}",
        variants={
            "reference fp32": ref_fn,
            "fusionblocks fp32 (+attention map)": lib_fn(lib, x, False, True),
            "fusionblocks fp32 SDPA": lib_fn(lib, x, False, False),
            "fusionblocks bf16 (+attention map)": lib_fn(lib, x, True, True),
            "fusionblocks bf16 SDPA": lib_fn(lib, x, True, False),
            "fusionblocks bf16 SDPA+channels_last": lib_fn(lib_cl, x_cl, True, False),
        },
        items=batch,
        params={"batch": batch, "size": size, "words": words, "channels": 64},
        notes=[
            "'+attention map' is the path of sampling (the maps feed the attention grids); training asks the "
            "generator for no maps, so its FF-Blocks take the SDPA path"
        ],
    )


# ----------------------------------------------------------------------------------------------------------------
# DAMSM word loss
# ----------------------------------------------------------------------------------------------------------------


def make_word_loss(
    device: torch.device, batch: int = 48, words: int = 18, seed: int = 0, log: Callable[[str], None] = print
) -> Case:
    """DAMSM word loss forward + backward at batch ``batch`` (DAMSM pre-training size), 17×17 regions."""
    from fusionblocks.losses import damsm_word_loss

    from .reference import words_loss

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    regions = torch.randn(batch, 256, 17, 17, device=device, requires_grad=True)
    _, lens = random_captions(batch, words, rng, min_words=5)
    lens = lens.to(device)
    w = torch.randn(batch, words, 256, device=device)
    mask = torch.arange(words, device=device)[None, :] < lens[:, None]
    w = (w * mask[:, :, None]).requires_grad_(True)
    class_np = rng.integers(0, 150, size=batch)
    class_t = torch.as_tensor(class_np, device=device)
    labels = torch.arange(batch, device=device)

    def ref_fn() -> None:
        l0, l1, _ = words_loss(regions, w.transpose(1, 2), labels, lens, class_np, batch)
        (l0 + l1).backward()

    def lib_fn(bf16: bool) -> Callable[[], None]:
        def fn() -> None:
            with _autocast(device, bf16)():
                out = damsm_word_loss(regions, w, mask, class_ids=class_t)
                loss = out.loss0 + out.loss1
            loss.float().backward()

        return fn

    return Case(
        name=f"word_loss_b{batch}",
        description=f"DAMSM word loss forward+backward, batch {batch}, T={words}, 17×17 regions, class masking",
        variants={
            "reference fp32": ref_fn,
            "fusionblocks fp32": lib_fn(False),
            "fusionblocks bf16": lib_fn(True),
        },
        items=batch,
        params={"batch": batch, "words": words},
    )


# ----------------------------------------------------------------------------------------------------------------
# R-precision
# ----------------------------------------------------------------------------------------------------------------


def make_rprecision(
    device: torch.device, samples: int, images: int | None = None, captions_per_image: int = 10,
    classes: int | None = None, seed: int = 0, log: Callable[[str], None] = print,
) -> Case:  # fmt: skip
    """R-precision of ``samples`` generated images over a test set of ``images`` images (10 captions each), 99
    mismatched captions per sample, as in the official loop: sample ``k`` is test image ``k mod images`` with a
    random one of its captions. The default ``images = samples // 10`` keeps the official ratio of samples to test
    images (30,000 samples ≈ 10.2 passes over CUB's 2,933 test images); ``images = samples`` is a single pass.
    Image codes are given (the Inception forward is the same in both and excluded); timed: caption sampling, text
    encoding and scoring."""
    from fusionblocks.text import DAMSMTextEncoder

    from .fast_rprecision import draw_mismatched_vectorised, encode_sentences, r_precision_pooled
    from .mapping import load_text_encoder_from_reference
    from .reference import RNN_ENCODER, r_precision_official

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    n_images = images or max(1, samples // 10)
    classes = classes or min(50, max(3, n_images // 10))  # CUB test: 50 classes of ~59 images
    class_ids = rng.permutation(np.arange(n_images) % classes)  # balanced, so every class has 99+ mismatches
    tokens, lens = random_captions(n_images * captions_per_image, 25, rng, min_words=5)
    perm = torch.as_tensor(rng.permutation(tokens.shape[0]))
    tokens, lens = tokens[perm], lens[perm]  # unsorted pool
    true_caption = (np.arange(samples) % n_images) * captions_per_image + rng.integers(
        0, captions_per_image, size=samples
    )
    codes = torch.randn(samples, 256, device=device)
    ref_enc = RNN_ENCODER(VOCAB).to(device).eval()
    lib_enc = DAMSMTextEncoder(VOCAB, max_words=None).to(device).eval()
    load_text_encoder_from_reference(lib_enc, ref_enc)

    def ref_fn() -> None:
        r_precision_official(
            codes, true_caption, tokens, lens, class_ids, ref_enc, captions_per_image,
            rng=np.random.RandomState(seed),
        )  # fmt: skip

    caption_classes = torch.as_tensor(np.repeat(class_ids, captions_per_image))
    image_classes = torch.as_tensor(class_ids[true_caption // captions_per_image])
    true_t = torch.as_tensor(true_caption)

    def lib_fn(chunk: int) -> Callable[[], None]:
        from fusionblocks.metrics import r_precision

        def fn() -> None:
            caption_codes = encode_sentences(lib_enc, tokens, lens, chunk=chunk)  # every test caption, once
            r_precision(
                codes, caption_codes, true_t, image_classes, caption_classes, replacement=True,
                generator=torch.Generator().manual_seed(seed),
            )  # fmt: skip

        return fn

    def pooled_fn() -> None:
        own = class_ids[true_caption // captions_per_image]
        cands = draw_mismatched_vectorised(np.random.default_rng(seed), own, class_ids, captions_per_image)
        r_precision_pooled(codes, true_caption, cands, tokens, lens, lib_enc)

    return Case(
        name=f"rprecision_{samples}",
        description=(
            f"R-precision over {samples} samples ({samples / n_images:.1f} passes over {n_images} test images × "
            f"{captions_per_image} captions, {classes} classes, 99 mismatched each); image codes given; "
            "fusionblocks encodes every test caption once"
        ),
        variants={
            "reference fp32": ref_fn,
            "fusionblocks r_precision": lib_fn(2048),
            "fusionblocks r_precision (encode chunks of 64)": lib_fn(64),
            "prototype: encode only needed captions": pooled_fn,
        },
        items=samples,
        params={"samples": samples, "images": n_images, "captions_per_image": captions_per_image, "classes": classes},
    )
