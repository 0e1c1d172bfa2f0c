"""``FFGANConfig``: nested dataclasses (model / text / image / train / data), YAML round trip, dotted overrides.

Every value that shapes a model lives here; no module reads a global configuration::

    cfg = FFGANConfig.from_yaml("my.yaml")                       # unknown keys raise, naming 'model.ngff'
    cfg = cfg.with_overrides(["model.ngf=32", "train.batch_size=8"])   # what ``--set`` on the command line does
    cfg.to_yaml("out.yaml")                                      # FFGANConfig.from_yaml(...) == cfg

YAML is read with ``yaml.safe_load`` and written with ``yaml.safe_dump``.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import os
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Union

import yaml

__all__ = [
    "FFGANConfig",
    "ModelConfig",
    "TextConfig",
    "ImageConfig",
    "TrainConfig",
    "DataConfig",
    "ConfigError",
    "parse_overrides",
]


class ConfigError(ValueError):
    """A configuration key or value is invalid; the message names the dotted key."""


@dataclass
class ModelConfig:
    """Generator and discriminator architecture.

    Args:
        arch: ``"stacked"`` (multi-stage FF-GAN / AttnGAN-style, one D per scale) or ``"dfgan"`` (single stage).
        image_size: Final output resolution (stacked: the last stage; stage ``i`` is
            ``image_size / 2^(num_stages − 1 − i)``).
        num_stages: Number of output scales (``"dfgan"``: 1).
        ngf: Generator width (stacked ``GF_DIM``; DF-GAN ``nf``).
        ndf: Discriminator width (``DF_DIM``; DF-GAN ``nf``).
        z_dim: Noise width.
        cond_dim: Conditioning-augmentation width (ncf; stacked only).
        res_blocks: Residual blocks per refinement stage (``R_NUM``).
        stage_fusion: Registered layer used as the refinement-stage fusion (stacked).
        stage_fusion_kwargs: Extra constructor arguments of the stage fusion (e.g. ``hidden_channels``).
        mask_padding: Mask padded words in word attention. The official FF-GAN does not (``cub256``/``coco256``
            set False, [padded-word masking][ffgan-masking]); new presets default to True.
        ca_sample_in_eval: Sample the CA noise at inference too (official behaviour).
        uncond_head: Build the unconditional discriminator heads (stacked).
        spectral_norm: Spectral norm in the stacked discriminators.
        ffblock_resolutions: ``"dfgan"`` only: insert FF-Blocks after the blocks with these output resolutions.
        keep_unused_shortcuts: ``"dfgan"`` only: build the official never-used D shortcut convs.
        init: ``"official"`` (DM-GAN orthogonal / BN N(1, 0.02), [weight initialisation][ffgan-init]) or ``"default"``
            (PyTorch's).
    """

    arch: str = "stacked"
    image_size: int = 256
    num_stages: int = 3
    ngf: int = 64
    ndf: int = 32
    z_dim: int = 100
    cond_dim: int = 100
    res_blocks: int = 2
    stage_fusion: str = "ffgan.stage_fusion"
    stage_fusion_kwargs: dict = field(default_factory=dict)
    mask_padding: bool = True
    ca_sample_in_eval: bool = False
    uncond_head: bool = True
    spectral_norm: bool = True
    ffblock_resolutions: list = field(default_factory=list)
    keep_unused_shortcuts: bool = False
    init: str = "official"

    @property
    def image_sizes(self) -> list[int]:
        """Resolution of every output scale, smallest first."""
        return [self.image_size // 2 ** (self.num_stages - 1 - i) for i in range(self.num_stages)]


@dataclass
class TextConfig:
    """Text encoder (frozen during GAN training).

    Args:
        encoder: Registered text encoder (``"text.damsm_bilstm"``, ``"text.clip"``, a plugin).
        vocab_size: DAMSM vocabulary size including index 0 (5,450 CUB, 27,297 COCO), used only when no
            vocabulary is known (token ids only); a vocabulary sets the size.
        vocabulary: Vocabulary for raw strings: ``"captioned_shapes"``, the path of an AttnGAN
            ``captions.pickle``, or a JSON file written by ``fusionblocks vocab build`` / ``Vocabulary.save``.
            None (default): the dataset decides (its captions pickle, or one built from its captions; see
            [`vocabulary_for_config`][fusionblocks.data.dataset_vocabulary.vocabulary_for_config]).
        embedding_dim: DAMSM word-embedding width.
        hidden_dim: DAMSM output width (word and sentence features).
        max_words: Caption length cap (``WORDS_NUM``).
        dropout: DAMSM embedding dropout (inactive while frozen).
        clip_model: open_clip model name for ``"text.clip"``.
        word_dim: ``"text.clip"``: project words to this width (None keeps the transformer width).
        weights: Local weights of the encoder (official DAMSM ``text_encoder*.pth``, or a CLIP checkpoint).
        freeze: Freeze the encoder (the GAN recipes assume it is frozen).
        kwargs: Extra constructor arguments (for plugin encoders).
    """

    encoder: str = "text.damsm_bilstm"
    vocab_size: Union[int, None] = 5450
    vocabulary: Union[str, None] = None
    embedding_dim: int = 300
    hidden_dim: int = 256
    max_words: int = 18
    dropout: float = 0.5
    clip_model: str = "ViT-B-32"
    word_dim: Union[int, None] = None
    weights: Union[str, None] = None
    freeze: bool = True
    kwargs: dict = field(default_factory=dict)


@dataclass
class ImageConfig:
    """Image encoder of the DAMSM loss (frozen; None when the recipe needs none).

    Args:
        encoder: Registered image encoder (``"image.damsm_inception"``, ``"image.small_cnn"``) or None.
        embed_dim: Region/code width; None = the text encoder's sentence width (they must agree for DAMSM).
        weights: Local weights (official ``image_encoder*.pth`` or ours).
        backbone_weights: Local ImageNet Inception-v3 weights for ``"image.damsm_inception"``.
        kwargs: Extra constructor arguments (e.g. ``image_size`` of ``"image.small_cnn"``).
    """

    encoder: Union[str, None] = "image.damsm_inception"
    embed_dim: Union[int, None] = None
    weights: Union[str, None] = None
    backbone_weights: Union[str, None] = None
    kwargs: dict = field(default_factory=dict)


@dataclass
class TrainConfig:
    """Training recipe and loop settings.

    Args:
        recipe: ``"ffgan"`` (BCE per scale + DAMSM + KL) or ``"dfgan"`` (hinge + MA-GP).
        batch_size: Batch size per process.
        lr_g: Generator learning rate.
        lr_d: Discriminator learning rate.
        betas: Adam betas.
        ema_decay: EMA decay of the generator weights (None: no EMA).
        damsm_lambda: λ of the DAMSM word + sentence loss (5 CUB, 50 COCO).
        gamma1: DAMSM γ₁ (region attention sharpness).
        gamma2: DAMSM γ₂ (word-score aggregation).
        gamma3: DAMSM γ₃ (score scale).
        damsm_form: ``"official"`` (code's word-score form) or ``"paper"``.
        kl_weight: Weight of the CA KL term.
        magp_k: MA-GP weight k.
        magp_p: MA-GP power p.
        magp_form: ``"joint"`` (DF-GAN code) or ``"paper"``.
        epochs: Number of epochs (None: use ``steps``).
        steps: Number of iterations (None: use ``epochs``).
        seed: Random seed.
        log_every: Iterations between log lines.
        sample_every: Iterations between sample grids.
        checkpoint_every: Iterations between checkpoints.
        amp: Autocast precision: ``"auto"`` (bf16 on CUDA and CPU, the fast path), ``"bf16"`` or ``"none"``
            (fp32). fp16 is not offered (it is slow on CPU and needs loss scaling on GPU).
        extra: Free-form settings for the trainer.
    """

    recipe: str = "ffgan"
    batch_size: int = 4
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: list = field(default_factory=lambda: [0.5, 0.999])
    ema_decay: Union[float, None] = 0.999
    damsm_lambda: float = 5.0
    gamma1: float = 4.0
    gamma2: float = 5.0
    gamma3: float = 10.0
    damsm_form: str = "official"
    kl_weight: float = 1.0
    magp_k: float = 2.0
    magp_p: float = 6.0
    magp_form: str = "joint"
    epochs: Union[int, None] = None
    steps: Union[int, None] = None
    seed: int = 0
    log_every: int = 50
    sample_every: int = 500
    checkpoint_every: int = 1000
    amp: str = "auto"
    extra: dict = field(default_factory=dict)


@dataclass
class DataConfig:
    """Dataset settings (read by the trainer and the command line).

    Args:
        dataset: ``"cub"``, ``"coco"``, ``"captioned_shapes"``, ``"folder"``.
        root: Dataset directory (None for procedural data).
        captions_per_image: Captions per image (10 CUB, 5 COCO).
        num_workers: DataLoader workers.
        kwargs: Extra dataset constructor arguments.
    """

    dataset: str = "cub"
    root: Union[str, None] = None
    captions_per_image: int = 10
    num_workers: int = 4
    kwargs: dict = field(default_factory=dict)


@dataclass
class FFGANConfig:
    """The whole configuration of a built GAN.

    Args:
        name: Preset or experiment name (informational).
        model: [`ModelConfig`][fusionblocks.ffgan.config.ModelConfig].
        text: [`TextConfig`][fusionblocks.ffgan.config.TextConfig].
        image: [`ImageConfig`][fusionblocks.ffgan.config.ImageConfig].
        train: [`TrainConfig`][fusionblocks.ffgan.config.TrainConfig].
        data: [`DataConfig`][fusionblocks.ffgan.config.DataConfig].
    """

    name: str = "custom"
    model: ModelConfig = field(default_factory=ModelConfig)
    text: TextConfig = field(default_factory=TextConfig)
    image: ImageConfig = field(default_factory=ImageConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: DataConfig = field(default_factory=DataConfig)

    # ------------------------------------------------------------------ dict / YAML
    def to_dict(self) -> dict[str, Any]:
        """A plain nested dict of builtin types (what [`to_yaml`][fusionblocks.ffgan.config.FFGANConfig.to_yaml]
        writes).
        """
        return copy.deepcopy(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FFGANConfig":
        """Build a config from a (partial) nested dict; missing keys keep their defaults.

        Raises:
            ConfigError: an unknown key (named with its dotted path and close matches) or a value of the wrong type.
        """
        return _from_mapping(cls, data, "")

    def to_yaml(self, path: str | os.PathLike | None = None) -> str:
        """Serialise with ``yaml.safe_dump`` (section order kept); also write to ``path`` when given."""
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=False)
        if path is not None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
        return text

    @classmethod
    def from_yaml(cls, path_or_text: str | os.PathLike) -> "FFGANConfig":
        """Read a YAML file (or YAML text containing a newline) with ``yaml.safe_load``.

        Raises:
            ConfigError: unknown keys or bad values (named with their dotted path).
        """
        if isinstance(path_or_text, str) and "\n" in path_or_text:
            data = yaml.safe_load(path_or_text)
        else:
            with open(path_or_text, encoding="utf-8") as fh:
                data = yaml.safe_load(fh)
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError(f"config: expected a mapping at the top level of the YAML, got {type(data).__name__}")
        return cls.from_dict(data)

    # ------------------------------------------------------------------ overrides
    def with_overrides(
        self, overrides: Mapping[str, Any] | Iterable[str] | None = None, /, **kwargs: Any
    ) -> "FFGANConfig":
        """A copy with dotted-key overrides applied (this config is not changed).

        ``overrides`` is a mapping ``{"model.ngf": 32, "train": {"batch_size": 8}}`` or a list of
        ``"a.b=value"`` strings (values parsed as YAML scalars/flow collections, as the ``--set`` CLI option
        does). Keyword arguments are the same as a mapping: ``model={"ngf": 32}`` (merged into the section),
        ``model__ngf=32`` or ``**{"model.ngf": 32}``.

        Raises:
            ConfigError: an unknown dotted key or a value of the wrong type.
        """
        items: list[tuple[str, Any]] = []
        if overrides is not None:
            if isinstance(overrides, Mapping):
                items += list(overrides.items())
            elif isinstance(overrides, str):
                items += list(parse_overrides([overrides]).items())
            else:
                items += list(parse_overrides(overrides).items())
        items += [(k.replace("__", "."), v) for k, v in kwargs.items()]
        data = self.to_dict()
        for key, value in items:
            _set_dotted(data, key, value)
        return FFGANConfig.from_dict(data)


def parse_overrides(pairs: Iterable[str]) -> dict[str, Any]:
    """Parse ``["model.ngf=32", "train.betas=[0.0, 0.9]", "text.weights=null"]`` into ``{dotted key: value}``.

    Values are parsed with ``yaml.safe_load`` (``8`` → int, ``2e-4`` → float, ``true`` → bool, ``null`` →
    None, ``[a, b]`` → list); anything else stays a string.

    Raises:
        ConfigError: an item without ``=`` or with an empty key.
    """
    out: dict[str, Any] = {}
    for item in pairs:
        if not isinstance(item, str) or "=" not in item:
            raise ConfigError(f"overrides: expected 'section.key=value', got {item!r}")
        key, raw = item.split("=", 1)
        key = key.strip()
        if not key:
            raise ConfigError(f"overrides: empty key in {item!r}")
        out[key] = _parse_scalar(raw.strip())
    return out


def _parse_scalar(raw: str) -> Any:
    try:
        return yaml.safe_load(raw) if raw else ""
    except yaml.YAMLError:
        return raw


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        path = ".".join(parts[: i + 1])
        if part not in node:
            if not _is_free_dict(parts[: i + 1]):
                _unknown(path, list(node))
            node[part] = {}
        node = node[part]
        if not isinstance(node, dict):
            raise ConfigError(f"{path}: is a value ({node!r}), not a section; cannot set {key!r}")
    last = parts[-1]
    if last not in node and not _is_free_dict(parts):
        _unknown(key, list(node))
    if isinstance(value, Mapping) and isinstance(node.get(last), dict) and not _is_free_dict(parts + ["*"]):
        for sub_key, sub_value in value.items():  # merge a section: every key is checked
            _set_dotted(data, f"{key}.{sub_key}", sub_value)
    elif isinstance(value, Mapping) and isinstance(node.get(last), dict):
        node[last] = {**node[last], **value}
    else:
        node[last] = value


_FREE_DICTS = {("model", "stage_fusion_kwargs"), ("text", "kwargs"), ("image", "kwargs"), ("train", "extra"),
               ("data", "kwargs")}


def _is_free_dict(parts: list[str]) -> bool:
    """Whether ``parts`` lies inside a free-form dict (any key allowed there)."""
    return len(parts) >= 3 and tuple(parts[:2]) in _FREE_DICTS


def _unknown(path: str, allowed: list[str]) -> typing.NoReturn:
    leaf = path.rsplit(".", 1)[-1]
    parent = path.rsplit(".", 1)[0] if "." in path else ""
    close = difflib.get_close_matches(leaf, allowed, n=3)
    hint = f"; did you mean {', '.join(repr((parent + '.' if parent else '') + c) for c in close)}?" if close else ""
    where = f"section {parent!r}" if parent else "the top level"
    raise ConfigError(f"unknown config key {path!r}{hint} (valid keys in {where}: {', '.join(allowed)})")


def _from_mapping(cls: type, data: Any, prefix: str) -> Any:
    where = prefix or "config"
    if dataclasses.is_dataclass(data) and isinstance(data, cls):
        data = dataclasses.asdict(data)
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping for section {cls.__name__}, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if key not in fields:
            _unknown(path, list(fields))
        kwargs[key] = _coerce(hints[key], value, path)
    return cls(**kwargs)


def _coerce(tp: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(arg, value, path)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{path}: bad value {value!r}")
    if dataclasses.is_dataclass(tp):
        return _from_mapping(tp, value, path)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{path}: expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{path}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)  # YAML 1.1 reads "2e-4" as a string
            except ValueError:
                pass
        raise ConfigError(f"{path}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{path}: expected a string, got {value!r}")
    if tp is list or origin is list:
        if isinstance(value, (list, tuple)):
            return [_plain(v, path) for v in value]
        raise ConfigError(f"{path}: expected a list, got {value!r}")
    if tp is dict or origin is dict:
        if isinstance(value, Mapping):
            return {str(k): _plain(v, f"{path}.{k}") for k, v in value.items()}
        raise ConfigError(f"{path}: expected a mapping, got {value!r}")
    return value


def _plain(value: Any, path: str) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v, path) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{path}.{k}") for k, v in value.items()}
    raise ConfigError(f"{path}: only YAML-serialisable values (numbers, strings, lists, mappings) are allowed, "
                      f"got {type(value).__name__}")
