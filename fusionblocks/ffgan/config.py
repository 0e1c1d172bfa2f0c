"""``FFGANConfig``: nested dataclasses (model / text / image / train / data), YAML round trip, dotted overrides.

Every value that shapes a model lives here; no module reads a global configuration:

    cfg = FFGANConfig.from_yaml("my.yaml")                       # unknown keys raise, naming 'model.ngff'
    cfg = cfg.with_overrides(["model.ngf=32", "train.batch_size=8"])   # what ``--set`` on the command line does
    cfg.to_yaml("out.yaml")                                      # FFGANConfig.from_yaml(...) == cfg

YAML is read with ``yaml.safe_load`` and written with ``yaml.safe_dump``.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import os
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterable, Mapping, Union

import yaml

from .._precision import PRECISIONS
from ..recipes import DFGANRecipe, FFGANRecipe

__all__ = [
    "PRECISIONS",
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


@dataclass(frozen=True)
class _Range:
    """What a numeric field (or every element of a list field) must satisfy."""

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    choices: tuple[Any, ...] | None = None
    length: int | None = None  # list fields: the exact number of elements

    def describe(self) -> str:
        if self.choices is not None:
            return f"one of {list(self.choices)}"
        low = f"> {self.gt:g}" if self.gt is not None else f">= {self.ge:g}" if self.ge is not None else ""
        high = f"< {self.lt:g}" if self.lt is not None else f"<= {self.le:g}" if self.le is not None else ""
        if low and high and self.ge is not None and self.lt is not None:
            return f"in [{self.ge:g}, {self.lt:g})"
        return " and ".join(part for part in (low, high) if part)

    def check(self, value: Any, path: str) -> None:
        if value is None:
            return
        if self.choices is not None:
            if value not in self.choices:
                raise ConfigError(f"{path}: expected {self.describe()}, got {value!r}")
            return
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{path}: expected a finite number, got {value!r}")
        ok = (
            (self.gt is None or value > self.gt)
            and (self.ge is None or value >= self.ge)
            and (self.lt is None or value < self.lt)
            and (self.le is None or value <= self.le)
        )
        if not ok:
            raise ConfigError(f"{path}: expected a value {self.describe()}, got {value!r}")


def _field(default: Any = dataclasses.MISSING, *, factory: Any = dataclasses.MISSING, **check: Any) -> Any:
    """A dataclass field with a range: ``_field(2e-4, gt=0)``; list fields check every element."""
    metadata = {"range": _Range(**check)} if check else {}
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


_POSITIVE = {"ge": 1}
_NON_NEGATIVE = {"ge": 0}


class _Section:
    """Validates a config section on construction: element types, ranges and choices, errors naming the key."""

    _section: ClassVar[str] = ""

    def __post_init__(self) -> None:
        _validate_fields(self, self._section)


@dataclass
class ModelConfig(_Section):
    """Generator and discriminator architecture.

    Args:
        arch: Registered generator (kind ``"generator"``): ``"stacked"`` (multi-stage FF-GAN / AttnGAN-style),
            ``"dfgan"`` (single stage) or a plugin's.
        discriminator: Registered discriminator, one built per generator output scale (None: the one the
            generator was registered with, ``"stage"`` for ``"stacked"``, ``"dfgan"`` for ``"dfgan"``).
        generator_kwargs: Extra constructor arguments of the generator (for plugin generators).
        discriminator_kwargs: Extra constructor arguments of each discriminator (for plugin discriminators).
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
        ffblock_resolutions: ``"dfgan"`` only: insert a word-fusion block after the blocks with these output
            resolutions.
        word_fusion: ``"dfgan"`` only: the registered layer used as that word-fusion block (FF-Block by default;
            any layer built as ``Block(channels, word_dim, mask_padding=..., **word_fusion_kwargs)`` and called as
            ``block(x, words, mask, return_attention=...)``).
        word_fusion_kwargs: Extra constructor arguments of the word-fusion block.
        keep_unused_shortcuts: ``"dfgan"`` only: build the official never-used D shortcut convs.
        init: ``"official"`` (DM-GAN orthogonal / BN N(1, 0.02), [weight initialisation][ffgan-init]) or ``"default"``
            (PyTorch's).
    """

    _section: ClassVar[str] = "model"

    arch: str = "stacked"
    discriminator: Union[str, None] = None
    generator_kwargs: dict[str, Any] = field(default_factory=dict)
    discriminator_kwargs: dict[str, Any] = field(default_factory=dict)
    image_size: int = _field(256, ge=8)
    num_stages: int = _field(3, **_POSITIVE)
    ngf: int = _field(64, **_POSITIVE)
    ndf: int = _field(32, **_POSITIVE)
    z_dim: int = _field(100, **_POSITIVE)
    cond_dim: int = _field(100, **_POSITIVE)
    res_blocks: int = _field(2, **_NON_NEGATIVE)
    stage_fusion: str = "ffgan.stage_fusion"
    stage_fusion_kwargs: dict[str, Any] = field(default_factory=dict)
    mask_padding: bool = True
    ca_sample_in_eval: bool = False
    uncond_head: bool = True
    spectral_norm: bool = True
    ffblock_resolutions: list[int] = _field(factory=list, ge=4)
    word_fusion: str = "ffgan.ffblock"
    word_fusion_kwargs: dict[str, Any] = field(default_factory=dict)
    keep_unused_shortcuts: bool = False
    init: str = _field("official", choices=("official", "default"))

    @property
    def image_sizes(self) -> list[int]:
        """Resolution of every output scale, smallest first."""
        return [self.image_size // 2 ** (self.num_stages - 1 - i) for i in range(self.num_stages)]


@dataclass
class TextConfig(_Section):
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

    _section: ClassVar[str] = "text"

    encoder: str = "text.damsm_bilstm"
    vocab_size: Union[int, None] = _field(5450, ge=2)
    vocabulary: Union[str, None] = None
    embedding_dim: int = _field(300, **_POSITIVE)
    hidden_dim: int = _field(256, ge=2)
    max_words: int = _field(18, **_POSITIVE)
    dropout: float = _field(0.5, ge=0.0, lt=1.0)
    clip_model: str = "ViT-B-32"
    word_dim: Union[int, None] = _field(None, **_POSITIVE)
    weights: Union[str, None] = None
    freeze: bool = True
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImageConfig(_Section):
    """Image encoder of the DAMSM loss (frozen; None when the recipe needs none).

    Args:
        encoder: Registered image encoder (``"image.damsm_inception"``, ``"image.small_cnn"``) or None.
        embed_dim: Region/code width; None = the text encoder's sentence width (they must agree for DAMSM).
        weights: Local weights (official ``image_encoder*.pth`` or ours).
        backbone_weights: Local ImageNet Inception-v3 weights for ``"image.damsm_inception"``.
        kwargs: Extra constructor arguments (e.g. ``image_size`` of ``"image.small_cnn"``).
    """

    _section: ClassVar[str] = "image"

    encoder: Union[str, None] = "image.damsm_inception"
    embed_dim: Union[int, None] = _field(None, **_POSITIVE)
    weights: Union[str, None] = None
    backbone_weights: Union[str, None] = None
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainConfig(_Section):
    """Training recipe and loop settings: the one place their defaults and valid ranges are declared.

    The trainer reads the loop settings from here
    ([`TrainerConfig.from_config`][fusionblocks.train.trainer_config.TrainerConfig.from_config]) and the builder gives
    the
    recipe its hyper-parameters from here.

    Args:
        recipe: Registered recipe (kind ``"recipe"``): ``"ffgan"`` (BCE per scale + DAMSM + KL), ``"dfgan"``
            (hinge + MA-GP), or a plugin's. The recipe hyper-parameters below take their defaults from the
            recipe classes ([`FFGANRecipe`][fusionblocks.recipes.ffgan.FFGANRecipe],
            [`DFGANRecipe`][fusionblocks.recipes.dfgan.DFGANRecipe]), where they are declared.
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
        skip_same_class: Drop mismatched (image, caption) pairs of the same class in the D loss.
        damsm_mask_same_class: Leave same-class pairs out of the generator's DAMSM losses (official: True).
        hard_negatives: ``"ffgan"`` recipe: use the dataset's hard-negative captions as the discriminator's
            mismatched captions and as extra wrong captions in the generator's DAMSM losses (off by default).
        magp_k: MA-GP weight k.
        magp_p: MA-GP power p.
        magp_form: ``"joint"`` (DF-GAN code) or ``"paper"``.
        epochs: Number of passes over the data (None: use ``steps``). One epoch is the number of full batches
            each process gets, so the world size is accounted for once, by the trainer.
        steps: Number of iterations (None: use ``epochs``; when both are set, ``steps`` wins).
        seed: Random seed.
        log_every: Iterations between log lines.
        sample_every: Iterations between sample grids (0: only at the end).
        checkpoint_every: Iterations between checkpoints (0: only at the end).
        precision: Autocast precision: ``"auto"`` (bf16 on CUDA and CPU, the fast path), ``"bf16"`` or ``"fp32"``.
            fp16 is not offered (it is slow on CPU and needs loss scaling on GPU). Older configs' ``amp``
            (``"none"`` = fp32) is read as this key.
    """

    _section: ClassVar[str] = "train"

    recipe: str = "ffgan"
    batch_size: int = _field(4, **_POSITIVE)
    lr_g: float = _field(FFGANRecipe.lr_g, gt=0.0)
    lr_d: float = _field(FFGANRecipe.lr_d, gt=0.0)
    betas: list[float] = _field(factory=lambda: list(FFGANRecipe.betas), ge=0.0, lt=1.0, length=2)
    ema_decay: Union[float, None] = _field(FFGANRecipe.ema_decay, ge=0.0, lt=1.0)
    damsm_lambda: float = _field(FFGANRecipe.damsm_lambda, ge=0.0)
    gamma1: float = _field(FFGANRecipe.gamma1, gt=0.0)
    gamma2: float = _field(FFGANRecipe.gamma2, gt=0.0)
    gamma3: float = _field(FFGANRecipe.gamma3, gt=0.0)
    damsm_form: str = _field(FFGANRecipe.damsm_form, choices=("official", "paper"))
    kl_weight: float = _field(FFGANRecipe.kl_weight, ge=0.0)
    skip_same_class: bool = FFGANRecipe.skip_same_class
    damsm_mask_same_class: bool = FFGANRecipe.damsm_mask_same_class
    hard_negatives: bool = FFGANRecipe.hard_negatives
    magp_k: float = _field(DFGANRecipe.magp_k, ge=0.0)
    magp_p: float = _field(DFGANRecipe.magp_p, gt=0.0)
    magp_form: str = _field(DFGANRecipe.magp_form, choices=("joint", "paper"))
    epochs: Union[int, None] = _field(None, **_POSITIVE)
    steps: Union[int, None] = _field(None, **_POSITIVE)
    seed: int = _field(0, **_NON_NEGATIVE)
    log_every: int = _field(50, **_POSITIVE)
    sample_every: int = _field(500, **_NON_NEGATIVE)
    checkpoint_every: int = _field(1000, **_NON_NEGATIVE)
    precision: str = _field("auto", choices=PRECISIONS)


@dataclass
class DataConfig(_Section):
    """Dataset settings (read by the trainer and the command line).

    Args:
        dataset: ``"cub"``, ``"coco"``, ``"captioned_shapes"``, ``"folder"``.
        root: Dataset directory (None for procedural data).
        captions_per_image: Captions per image (10 CUB, 5 COCO).
        num_workers: DataLoader workers.
        kwargs: Extra dataset constructor arguments.
    """

    _section: ClassVar[str] = "data"

    dataset: str = "cub"
    root: Union[str, None] = None
    captions_per_image: int = _field(10, **_POSITIVE)
    num_workers: int = _field(4, **_NON_NEGATIVE)
    kwargs: dict[str, Any] = field(default_factory=dict)


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


#: Keys older configs (and checkpoints) used, and what they mean now: old dotted key -> (new key, value map).
_RENAMED_KEYS: dict[str, tuple[str, dict[Any, Any]]] = {"train.amp": ("train.precision", {"none": "fp32"})}
#: Keys that were removed; reading an old config with the default value still works.
_REMOVED_KEYS: dict[str, Any] = {"train.extra": {}}


def _legacy_key(key: str, value: Any) -> tuple[str | None, Any]:
    """Map a renamed key (and its value) to the current one; ``(None, _)`` for a removed key at its default."""
    if key in _RENAMED_KEYS:
        new_key, values = _RENAMED_KEYS[key]
        return new_key, values.get(value, value) if isinstance(value, str) else value
    if key in _REMOVED_KEYS:
        if value in (None, _REMOVED_KEYS[key]):
            return None, value
        raise ConfigError(f"{key}: this setting was removed (it was never read); drop it from the config")
    return key, value


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    new_key, value = _legacy_key(key, value)
    if new_key is None:
        return
    key = new_key
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


_FREE_DICTS = {
    ("model", "stage_fusion_kwargs"),
    ("model", "generator_kwargs"),
    ("model", "discriminator_kwargs"),
    ("model", "word_fusion_kwargs"),
    ("text", "kwargs"),
    ("image", "kwargs"),
    ("data", "kwargs"),
}


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
    if dataclasses.is_dataclass(data) and not isinstance(data, type) and isinstance(data, cls):
        data = dataclasses.asdict(data)
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping for section {cls.__name__}, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        path, new_value = _legacy_key(f"{prefix}.{key}" if prefix else str(key), value)
        if path is None:
            continue
        name = path.rsplit(".", 1)[-1]
        if name not in fields:
            _unknown(path, list(fields))
        kwargs[name] = _coerce(hints[name], new_value, path)
    return cls(**kwargs)


def _validate_fields(section: Any, prefix: str) -> None:
    """Coerce every field of ``section`` to its annotated type and check its range (errors name the dotted key)."""
    hints = typing.get_type_hints(type(section))
    for f in dataclasses.fields(section):
        path = f"{prefix}.{f.name}" if prefix else f.name
        value = _coerce(hints[f.name], getattr(section, f.name), path)
        check: _Range | None = f.metadata.get("range")
        if check is not None:
            if isinstance(value, list):
                if check.length is not None and len(value) != check.length:
                    raise ConfigError(f"{path}: expected {check.length} values, got {len(value)} ({value!r})")
                for i, item in enumerate(value):
                    check.check(item, f"{path}[{i}]")
            else:
                check.check(value, path)
        object.__setattr__(section, f.name, value)


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
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return value if isinstance(value, tp) else _from_mapping(tp, value, path)
    if tp is Any:
        return _plain(value, path)
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
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {value!r}")
        (item_type,) = typing.get_args(tp) or (Any,)
        return [_coerce(item_type, v, f"{path}[{i}]") for i, v in enumerate(value)]
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
