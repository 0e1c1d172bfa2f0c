"""CLIPTextEncoder on a randomly initialised open_clip ViT-B-32 (no network)."""

from __future__ import annotations

import pytest
import torch

from fusionblocks import create
from fusionblocks.text import CLIPTextEncoder, TextEncoder

CAPTIONS = ["a small red circle", "two blue squares on a green background, side by side"]


@pytest.fixture(scope="module")
def encoder() -> CLIPTextEncoder:
    torch.manual_seed(0)
    return CLIPTextEncoder("ViT-B-32", pretrained=None, word_dim=None, context_length=24)


@pytest.fixture
def reuse_model(encoder: CLIPTextEncoder, monkeypatch):
    """Make open_clip.create_model hand back the already built (frozen) model; records its arguments."""
    import open_clip

    calls: list[tuple[str, object]] = []

    def fake_create_model(name, pretrained=None, **kwargs):
        calls.append((name, pretrained))
        return encoder.model

    monkeypatch.setattr(open_clip, "create_model", fake_create_model)
    return calls


def _reference(model, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """open_clip's text transformer written out step by step (CLIP class) on the ids padded to 77 tokens."""
    full = torch.nn.functional.pad(ids, (0, model.context_length - ids.shape[1]))
    x = model.token_embedding(full) + model.positional_embedding
    x = model.ln_final(model.transformer(x, attn_mask=model.attn_mask))
    return x[:, : ids.shape[1]], model.encode_text(full)


def test_shapes_dims_and_mask(encoder: CLIPTextEncoder) -> None:
    assert isinstance(encoder, TextEncoder)
    assert encoder.word_dim == 512 and encoder.sentence_dim == 512  # from the model: width 512, embed_dim 512
    out = encoder(CAPTIONS)
    n_tokens = [len(encoder.tokenizer.encode(c)) + 2 for c in CAPTIONS]  # + start and end tokens
    longest = max(n_tokens)  # T is trimmed to the longest caption of the batch (context length 24)
    assert longest < 24
    assert out.words.shape == (2, longest, 512) and out.sentence.shape == (2, 512)
    assert out.mask.shape == (2, longest)
    assert out.mask.sum(1).tolist() == n_tokens
    assert out.mask[:, 0].all()  # start token
    assert torch.equal(out.mask, torch.arange(longest)[None] < torch.tensor(n_tokens)[:, None])


def test_matches_open_clip(encoder: CLIPTextEncoder) -> None:
    ids = encoder.tokenize(CAPTIONS)
    assert ids.shape == (2, 24)
    out = encoder(ids)
    with torch.no_grad():
        ref_words, ref_sentence = _reference(encoder.model, ids)
    assert out.words.shape[1] == out.mask.sum(1).max()  # trimmed after the longest caption's end token
    torch.testing.assert_close(out.words, ref_words[:, : out.words.shape[1]], atol=1e-5, rtol=0)
    torch.testing.assert_close(out.sentence, ref_sentence, atol=1e-5, rtol=0)
    # the sentence is the ln_final feature at the end token, projected (CLIP's argmax pooling)
    eot = out.mask.sum(1) - 1
    pooled = out.words[torch.arange(2), eot] @ encoder.model.text_projection
    torch.testing.assert_close(out.sentence, pooled, atol=1e-4, rtol=1e-4)


def test_short_context_equals_full_context(encoder: CLIPTextEncoder) -> None:
    full = CLIPTextEncoder.__new__(CLIPTextEncoder)  # same weights, default (77-token) context
    full.__dict__.update(encoder.__dict__)
    full.context_length = 77
    short_out, full_out = encoder(CAPTIONS), full(CAPTIONS)
    assert full_out.words.shape == short_out.words.shape  # both trimmed to the longest caption
    assert torch.equal(full_out.mask, short_out.mask)
    torch.testing.assert_close(short_out.words, full_out.words, atol=1e-5, rtol=0)
    torch.testing.assert_close(short_out.sentence, full_out.sentence, atol=1e-5, rtol=0)


def test_frozen_by_default(encoder: CLIPTextEncoder) -> None:
    assert encoder.model_frozen
    assert all(not p.requires_grad for p in encoder.model.parameters())
    encoder.train()
    assert not encoder.model.training  # stays in eval mode
    out = encoder(CAPTIONS[:1])
    assert not out.words.requires_grad and not out.sentence.requires_grad


def test_word_projection_is_trainable(reuse_model) -> None:
    enc = CLIPTextEncoder("ViT-B-32", word_dim=64, context_length=16)
    assert enc.word_dim == 64 and enc.sentence_dim == 512
    out = enc(CAPTIONS)
    assert out.words.shape == (2, int(out.mask.sum(1).max()), 64)
    out.words.sum().backward()
    assert enc.word_proj.weight.grad is not None
    assert all(p.grad is None for p in enc.model.parameters())


def test_local_pretrained_file_is_passed_to_open_clip(tmp_path, reuse_model) -> None:
    path = tmp_path / "clip.safetensors"
    path.write_bytes(b"")  # existence is all the constructor checks before open_clip loads it
    enc = create("text_encoder", "text.clip", model_name="ViT-B-32", pretrained=str(path), context_length=8)
    assert reuse_model == [("ViT-B-32", str(path))]
    assert enc(CAPTIONS).words.shape == (2, 8, 512)


def test_bad_arguments(reuse_model) -> None:
    with pytest.raises(ValueError, match="pretrained"):
        CLIPTextEncoder("ViT-B-32", pretrained="openai")  # a hub tag: never downloaded
    with pytest.raises(ValueError, match="model_name"):
        CLIPTextEncoder("not-a-model")
    with pytest.raises(ValueError, match="context_length"):
        CLIPTextEncoder("ViT-B-32", context_length=0)
    with pytest.raises(ValueError, match="context_length"):
        CLIPTextEncoder("ViT-B-32", context_length=78)


def test_bad_captions(encoder: CLIPTextEncoder) -> None:
    with pytest.raises(TypeError, match="captions"):
        encoder("a single string")
    with pytest.raises(ValueError, match="captions"):
        encoder([])
    with pytest.raises(ValueError, match="captions"):
        encoder(torch.zeros(2, 3, 4, dtype=torch.long))


def test_empty_caption_is_refused_like_every_text_encoder(encoder: CLIPTextEncoder) -> None:
    from fusionblocks.text import DAMSMTextEncoder, Vocabulary

    damsm = DAMSMTextEncoder(3, vocabulary=Vocabulary(["<end>", "a", "b"]))
    for captions in ([""], ["a small red circle", "   "]):
        with pytest.raises(ValueError) as clip_error:
            encoder(captions)
        with pytest.raises(ValueError) as damsm_error:
            damsm(captions)
        assert str(clip_error.value) == str(damsm_error.value)
        assert "empty or blank" in str(clip_error.value)


def test_runs_only_up_to_the_longest_caption_and_matches_the_full_context(encoder: CLIPTextEncoder) -> None:
    lengths: list[int] = []
    handle = encoder.model.transformer.register_forward_pre_hook(lambda _m, args: lengths.append(args[0].shape[1]))
    try:
        out = encoder(CAPTIONS)
    finally:
        handle.remove()
    assert lengths == [out.mask.sum(1).max().item()] and lengths[0] < 77  # not the 77-token context
    ids = encoder.tokenize(CAPTIONS)
    with torch.no_grad():
        words, sentence = encoder._full_context_forward(ids, torch.no_grad())  # towers without the short path
    torch.testing.assert_close(out.words, words[:, : out.words.shape[1]], atol=1e-5, rtol=0)
    torch.testing.assert_close(out.sentence, sentence, atol=1e-5, rtol=0)
