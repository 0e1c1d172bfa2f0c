"""DAMSM pre-training (docs/ffgan.md "DAMSM pre-training", with the official slips fixed): loss falls, one Adam, lr
schedule,
clipping, saving."""

from __future__ import annotations

import json

import pytest
import torch

from fusionblocks.image import SmallImageEncoder
from fusionblocks.text import DAMSMTextEncoder, Vocabulary
from fusionblocks.train.damsm_pretrain import (
    DAMSMBatch,
    damsm_losses,
    evaluate_damsm,
    parse_damsm_batch,
    pretrain_damsm,
)

COLORS = ["red", "green", "blue", "yellow"]
SHAPES = ["square", "circle"]
RGB = {"red": (1, -1, -1), "green": (-1, 1, -1), "blue": (-1, -1, 1), "yellow": (1, 1, -1)}


def _toy_data(n: int = 8, size: int = 32) -> tuple[torch.Tensor, list[str], torch.Tensor]:
    """Images of a coloured square or disc on black, captioned 'a <colour> <shape>'."""
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    c = (size - 1) / 2
    disc = ((yy - c) ** 2 + (xx - c) ** 2) <= (size / 3) ** 2
    square = ((yy - c).abs() <= size / 4) & ((xx - c).abs() <= size / 4)
    images, captions, classes = [], [], []
    for i in range(n):
        colour, shape = COLORS[i % 4], SHAPES[(i // 4) % 2]
        mask = square if shape == "square" else disc
        img = torch.full((3, size, size), -1.0)
        for ch, v in enumerate(RGB[colour]):
            img[ch][mask] = float(v)
        images.append(img)
        captions.append(f"a {colour} {shape}")
        classes.append(i)
    return torch.stack(images), captions, torch.tensor(classes)


def _encoders(vocab: Vocabulary, dim: int = 16) -> tuple[DAMSMTextEncoder, SmallImageEncoder]:
    torch.manual_seed(0)
    text = DAMSMTextEncoder(vocabulary=vocab, embedding_dim=16, hidden_dim=dim, dropout=0.0)
    image = SmallImageEncoder(embed_dim=dim, image_size=32, region_size=8, channels=(8, 16, 16))
    return text, image


def test_loss_falls_lr_decays_and_grads_are_clipped() -> None:
    images, captions, classes = _toy_data()
    vocab = Vocabulary.build(captions)
    text, image = _encoders(vocab)
    loader = [(images[:4], captions[:4], classes[:4]), (images[4:], captions[4:], classes[4:])]
    history = pretrain_damsm(text, image, loader, steps=30, lr=0.01, lr_decay=0.9, min_lr=0.008)
    assert len(history.loss) == 30 and history.step[-1] == 30
    first, last = sum(history.loss[:2]) / 2, sum(history.loss[-4:]) / 4
    assert last < 0.7 * first, (first, last)
    for total, *terms in zip(history.loss, history.word0, history.word1, history.sent0, history.sent1):
        assert total == pytest.approx(sum(terms), rel=1e-5)
    # per-epoch decay (2 batches per epoch), floored at min_lr
    assert history.lr[:4] == pytest.approx([0.01, 0.01, 0.009, 0.009])
    assert history.lr[-1] == pytest.approx(0.008) and history.epoch[-1] == 14
    # the last step's text-encoder gradients were clipped to global norm 0.25
    norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in text.parameters() if p.grad is not None]))
    assert norm <= 0.25 + 1e-5


def test_one_optimizer_for_the_whole_run(monkeypatch) -> None:
    images, captions, classes = _toy_data(4)
    text, image = _encoders(Vocabulary.build(captions))
    made = []
    real_adam = torch.optim.Adam

    def counting_adam(*args, **kwargs):
        made.append(kwargs)
        return real_adam(*args, **kwargs)

    monkeypatch.setattr(torch.optim, "Adam", counting_adam)
    pretrain_damsm(text, image, [(images, captions, classes)], epochs=3)
    assert len(made) == 1 and made[0]["betas"] == (0.5, 0.999) and made[0]["lr"] == 0.002


def test_batch_forms_agree() -> None:
    images, captions, classes = _toy_data(4)
    vocab = Vocabulary.build(captions)
    text, image = _encoders(vocab)
    text.eval()
    ids, lengths = vocab.encode_batch(captions)
    forms = [
        (images, captions, classes),
        (images, (ids, lengths), classes),
        (images, ids, lengths, classes),
        {"image": images, "captions": captions, "tokens": ids, "lengths": lengths, "class_ids": classes},
        {"images": [images[:, :, ::2, ::2], images], "captions": captions, "class_ids": classes},
        DAMSMBatch(images, ids, lengths, classes),
    ]
    ref = damsm_losses(text, image, parse_damsm_batch(forms[0], text))["loss"]
    for form in forms[1:]:
        got = damsm_losses(text, image, parse_damsm_batch(form, text))["loss"]
        torch.testing.assert_close(got, ref)
    with pytest.raises(TypeError, match="batch"):
        parse_damsm_batch("nope")
    with pytest.raises(ValueError, match="batch"):
        parse_damsm_batch({"captions": captions})


def test_evaluate_averages_over_batches_seen() -> None:
    images, captions, classes = _toy_data(8)
    text, image = _encoders(Vocabulary.build(captions))
    batches = [(images[i : i + 2], captions[i : i + 2], classes[i : i + 2]) for i in range(0, 8, 2)]
    text.train()
    result = evaluate_damsm(text, image, lambda: iter(batches), max_batches=3)
    assert text.training  # mode restored
    text.eval()
    with torch.no_grad():
        expected = sum(float(damsm_losses(text, image, parse_damsm_batch(b))["loss"]) for b in batches[:3]) / 3
    assert result["batches"] == 3 and result["loss"] == pytest.approx(expected, rel=1e-5)


def test_saves_safetensors_vocabulary_and_history(tmp_path) -> None:
    from safetensors.torch import load_file

    images, captions, classes = _toy_data(4)
    vocab = Vocabulary.build(captions)
    text, image = _encoders(vocab)
    history = pretrain_damsm(
        text, image, [(images, captions, classes)], epochs=2, out_dir=tmp_path, save_every_epochs=1,
        val_loader=[(images, captions, classes)],
    )
    assert len(history.val) == 2 and history.val[0]["epoch"] == 1.0
    for name in ("text_encoder.safetensors", "image_encoder.safetensors", "text_encoder_epoch1.safetensors"):
        assert (tmp_path / name).is_file()
    text2, image2 = _encoders(vocab)
    text2.load_state_dict(load_file(tmp_path / "text_encoder.safetensors"))
    image2.load_state_dict(load_file(tmp_path / "image_encoder.safetensors"))
    for a, b in zip(text.state_dict().values(), text2.state_dict().values()):
        assert torch.equal(a, b)
    assert Vocabulary.load(tmp_path / "vocabulary.json") == vocab
    saved = json.loads((tmp_path / "history.json").read_text())
    assert saved["loss"] == history.loss


def test_frozen_inception_stays_in_eval_mode() -> None:
    from fusionblocks.image import DAMSMImageEncoder

    images, captions, classes = _toy_data(2)
    text = DAMSMTextEncoder(vocabulary=Vocabulary.build(captions), embedding_dim=8, hidden_dim=16)
    image = DAMSMImageEncoder(embed_dim=16)
    bn = image.backbone.Conv2d_1a_3x3.bn
    before = bn.running_mean.clone()
    history = pretrain_damsm(text, image, [(images, captions, classes)], steps=1)
    assert len(history.loss) == 1
    assert not image.backbone.training and image.region_proj.training
    assert torch.equal(bn.running_mean, before)  # BN statistics did not drift an official-code slip
    assert all(p.grad is None for p in image.backbone.parameters())


def test_bad_arguments() -> None:
    images, captions, classes = _toy_data(4)
    vocab = Vocabulary.build(captions)
    text, image = _encoders(vocab)
    with pytest.raises(ValueError, match="epochs"):
        pretrain_damsm(text, image, [(images, captions)])
    with pytest.raises(ValueError, match="steps"):
        pretrain_damsm(text, image, [(images, captions)], steps=0)
    with pytest.raises(ValueError, match="loader"):
        pretrain_damsm(text, image, [], epochs=1)
    wide = SmallImageEncoder(embed_dim=8, image_size=32, channels=(8, 8))
    with pytest.raises(ValueError, match="text_encoder: word features have 16"):
        pretrain_damsm(text, wide, [(images, captions)], steps=1)


def test_hard_negatives_and_class_masking_in_damsm_losses() -> None:
    from fusionblocks.losses import damsm_sentence_loss, damsm_word_loss

    images, captions, classes = _toy_data()
    vocab = Vocabulary.build(captions)
    text, image = _encoders(vocab)
    text.eval()
    classes = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    negatives = [[f"a {COLORS[(i + 1) % 4]} {SHAPES[(i // 4) % 2]}", f"a {COLORS[i % 4]} {SHAPES[1 - (i // 4) % 2]}"]
                 for i in range(8)]
    regions, codes = image(images)
    feats = text(captions)
    flat = text([c for group in negatives for c in group])

    # negatives off and class masking on: exactly the official losses
    plain = damsm_losses(text, image, DAMSMBatch(images, captions, None, classes))
    torch.testing.assert_close(plain["word0"], damsm_word_loss(regions, feats.words, feats.mask, classes).loss0)
    torch.testing.assert_close(plain["sent1"], damsm_sentence_loss(codes, feats.sentence, classes).loss1)
    # mask_same_class=False ignores the class ids
    unmasked = damsm_losses(text, image, DAMSMBatch(images, captions, None, classes), mask_same_class=False)
    torch.testing.assert_close(unmasked["word0"], damsm_word_loss(regions, feats.words, feats.mask).loss0)
    # negatives: encoded once, (B, K, ...) into both losses' image-picks-caption terms
    hard = damsm_losses(text, image, DAMSMBatch(images, captions, None, None, negatives))
    t = flat.words.shape[1]
    word = damsm_word_loss(regions, feats.words, feats.mask, negative_words=flat.words.reshape(8, 2, t, -1),
                           negative_mask=flat.mask.reshape(8, 2, t))
    sent = damsm_sentence_loss(codes, feats.sentence, negatives=flat.sentence.reshape(8, 2, -1))
    for key, value in (("word0", word.loss0), ("word1", word.loss1), ("sent0", sent.loss0), ("sent1", sent.loss1)):
        torch.testing.assert_close(hard[key], value)
    assert hard["word0"] > unmasked["word0"] and hard["sent0"] > unmasked["sent0"]


def test_dict_batches_carry_negative_captions_and_bad_ones_are_named() -> None:
    images, captions, _ = _toy_data(4)
    batch = parse_damsm_batch({"image": images, "captions": captions, "negative_captions": [["a red square"]] * 4})
    assert batch.negative_captions == [["a red square"]] * 4
    vocab = Vocabulary.build(captions)
    text, image = _encoders(vocab)
    for bad in ([["a red square"]] * 3, [["a red square"], [], [], []], ["a red square"] * 4):
        with pytest.raises(ValueError, match="negative_captions"):
            damsm_losses(text, image, DAMSMBatch(images, captions, None, None, bad))


def test_hard_negatives_teach_what_random_negatives_cannot() -> None:
    """Batches of one image have no in-batch negatives, so plain DAMSM has nothing to learn from them; one hard
    negative per image (the caption with its colour changed) is enough to learn to rank the true caption first."""
    import torch.nn.functional as F

    images, captions, _ = _toy_data()
    vocab = Vocabulary.build(captions)
    text, image = _encoders(vocab)
    loader = [DAMSMBatch(images[i : i + 1], captions[i : i + 1]) for i in range(8)]
    without = pretrain_damsm(text, image, loader, steps=8, lr=0.01)
    assert max(without.loss) == 0.0  # a batch of one: every loss term is exactly zero
    wrong = [f"a {COLORS[(i + 1) % 4]} {SHAPES[(i // 4) % 2]}" for i in range(8)]
    with_neg = [DAMSMBatch(images[i : i + 1], captions[i : i + 1], None, None, [[wrong[i]]]) for i in range(8)]
    history = pretrain_damsm(text, image, with_neg, steps=64, lr=0.01)
    assert history.loss[0] > 0 and sum(history.loss[-8:]) < 0.5 * sum(history.loss[:8])
    text.eval(), image.eval()
    with torch.no_grad():
        codes = F.normalize(image(images)[1], dim=1)
        true = (F.normalize(text(captions).sentence, dim=1) * codes).sum(1)
        false = (F.normalize(text(wrong).sentence, dim=1) * codes).sum(1)
    assert bool((true > false).all())
