"""FF-GAN: configuration and presets, the builder, official-checkpoint conversion.

    from fusionblocks.ffgan import build_ffgan, FFGANConfig, load_official
    gan = build_ffgan("tiny64", model={"ngf": 16})
    out = gan.generator(z, text.sentence, text.words, text.mask)
    gan.generator.load_state_dict(load_official("netG_epoch_650.pth"))
"""

from __future__ import annotations

from .builder import BuiltGAN, build, build_ffgan, resolve_config, validate_config
from .config import (
    ConfigError,
    DataConfig,
    FFGANConfig,
    ImageConfig,
    ModelConfig,
    TextConfig,
    TrainConfig,
    parse_overrides,
)
from .official import (
    convert_official_discriminator,
    convert_official_generator,
    load_official,
    official_discriminator_image_size,
    official_generator_config,
)
from .presets import PRESETS, preset_config, register_preset
from .provenance import (
    RandomEncoderError,
    encoder_provenance,
    random_encoders,
    require_damsm_backbone,
    require_pretrained_encoders,
)

__all__ = [
    "BuiltGAN",
    "ConfigError",
    "DataConfig",
    "FFGANConfig",
    "ImageConfig",
    "ModelConfig",
    "PRESETS",
    "RandomEncoderError",
    "TextConfig",
    "TrainConfig",
    "build",
    "build_ffgan",
    "encoder_provenance",
    "random_encoders",
    "require_damsm_backbone",
    "require_pretrained_encoders",
    "convert_official_discriminator",
    "convert_official_generator",
    "load_official",
    "official_discriminator_image_size",
    "official_generator_config",
    "parse_overrides",
    "preset_config",
    "register_preset",
    "resolve_config",
    "validate_config",
]
