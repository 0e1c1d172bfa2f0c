"""Which vocabulary a text encoder uses: the one place that decides, for the builder, the command line, the demo
and the examples.

The rules, in order:

1. An encoder with its own tokenizer (``uses_vocabulary`` False, e.g. CLIP) uses none.
2. ``text.vocabulary`` in the config, when set: ``"captioned_shapes"``, an AttnGAN ``captions.pickle`` or a JSON
   file written by ``Vocabulary.save`` / ``fusionblocks vocab build``; else the ``vocabulary.json`` saved next to
   ``text.weights`` by ``fusionblocks pretrain-damsm`` (weights need the vocabulary they were trained with).
3. Otherwise the dataset decides:

   * CaptionedShapes: the words of its caption grammar;
   * CUB / COCO (AttnGAN layout): the vocabulary of ``captions.pickle`` (else DF-GAN's ``captions_DAMSM.pickle``),
     which released DAMSM weights depend on; without a pickle, one built from the ``text/`` captions (train, then
     test, as the official builder orders them);
   * a caption folder: one built from its captions.

A checkpoint stores the vocabulary it was trained with, and loading it reuses that one (rule 0).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from ..registry import get
from ..text import Vocabulary
from .attngan import AttnGANDataset, find_captions_pickle
from .caption_folder import CaptionFolder
from .shapes.grammar import shapes_vocabulary

__all__ = [
    "VocabularySource",
    "load_vocabulary",
    "dataset_vocabulary",
    "encoder_uses_vocabulary",
    "explicit_vocabulary",
    "vocabulary_for_config",
    "dataset_captions",
]


@dataclass
class VocabularySource:
    """A vocabulary and where it came from (recorded with training runs).

    Attributes:
        vocabulary: The [`Vocabulary`][fusionblocks.text.vocabulary.Vocabulary].
        source: Human-readable origin, e.g. ``"data/birds/captions.pickle"`` or
            ``"built from 1,200 captions of the folder my_data"``.
    """

    vocabulary: Any
    source: str

    def describe(self) -> dict[str, Any]:
        """``{"source": ..., "size": ...}`` for run records."""
        return {"source": self.source, "size": len(self.vocabulary)}


def load_vocabulary(spec: Any, *, key: str = "text.vocabulary") -> Any:
    """A vocabulary from a config value: a ``Vocabulary`` (returned as is), ``"captioned_shapes"``, the path of an
    AttnGAN captions pickle (``.pickle``/``.pkl``) or of a JSON vocabulary.

    Raises:
        FileNotFoundError: the path does not exist (the message names ``key``).
    """
    if isinstance(spec, Vocabulary):
        return spec
    if not isinstance(spec, (str, os.PathLike)):
        raise TypeError(f"{key}: expected 'captioned_shapes' or a vocabulary file path, got {type(spec).__name__}")
    text = os.fspath(spec)
    if text == "captioned_shapes":
        return shapes_vocabulary()
    if not os.path.isfile(text):
        raise FileNotFoundError(
            f"{key}: expected 'captioned_shapes' or the path of a vocabulary file (captions.pickle or a JSON file "
            f"from `fusionblocks vocab build`), got {text!r} (file not found)"
        )
    if text.endswith((".pickle", ".pkl")):
        return Vocabulary.from_attngan_pickle(text)
    return Vocabulary.load(text)


def dataset_vocabulary(dataset: str, root: str | os.PathLike[str] | None = None, **kwargs: Any) -> VocabularySource:
    """The vocabulary a dataset decides (module docstring, rule 3).

    Args:
        dataset: ``"captioned_shapes"``, ``"cub"``, ``"coco"`` or ``"folder"``.
        root: The data folder (not needed for CaptionedShapes).
        **kwargs: Dataset options that change the captions (``captions_file`` for CUB/COCO; ``captions`` and
            ``skip_uncaptioned`` for folders); others are ignored.

    Raises:
        ValueError: unknown ``dataset``, or a folder dataset without ``root``.
        FileNotFoundError: ``root`` or the caption files are missing (named).
    """
    if dataset == "captioned_shapes":
        return VocabularySource(shapes_vocabulary(), "the CaptionedShapes caption grammar")
    if dataset not in ("cub", "coco", "folder"):
        raise ValueError(f"dataset: expected 'captioned_shapes', 'cub', 'coco' or 'folder', got {dataset!r}")
    if root is None:
        raise ValueError(f"root: the {dataset!r} dataset needs a data folder to take its vocabulary from")
    root = Path(root)
    if dataset == "folder":
        options = {k: kwargs[k] for k in ("captions", "skip_uncaptioned") if k in kwargs}
        folder = CaptionFolder(root, vocabulary="build", **options)
        count = sum(len(c) for c in folder.all_captions())
        return VocabularySource(folder.vocabulary, f"built from {count:,} captions of the folder {str(root)!r}")
    captions_file = kwargs.get("captions_file", "auto")
    pickle_path = find_captions_pickle(root, captions_file)
    if pickle_path is not None:
        return VocabularySource(Vocabulary.from_attngan_pickle(pickle_path), str(pickle_path))
    data = AttnGANDataset(root, "train", dataset=dataset, check_files=False, captions_file=captions_file)
    return VocabularySource(
        data.vocabulary, f"built from the text/ captions of {str(root)!r} (no captions pickle found)"
    )


def _describe(dataset: Any) -> str:
    """Where a built dataset's vocabulary came from."""
    root = getattr(dataset, "root", None)
    if getattr(dataset, "captions_file", None):
        return str(Path(str(root)) / dataset.captions_file)
    if hasattr(dataset, "captions_file"):
        return f"built from the text/ captions of {str(root)!r} (no captions pickle found)"
    if root is not None:
        return f"built from the captions of the folder {str(root)!r}"
    return f"the vocabulary of {type(dataset).__name__}"


def encoder_uses_vocabulary(encoder: str) -> bool:
    """Whether the registered text encoder ``encoder`` maps words through a vocabulary (``uses_vocabulary``).
    """
    return bool(getattr(get("text_encoder", encoder), "uses_vocabulary", False))


def explicit_vocabulary(config: Any) -> VocabularySource | None:
    """The vocabulary ``config`` names itself (module docstring, rule 2), or None when the dataset decides.
    """
    tc = config.text
    if tc.vocabulary is not None:
        return VocabularySource(load_vocabulary(tc.vocabulary), f"text.vocabulary={tc.vocabulary}")
    if isinstance(tc.weights, (str, os.PathLike)):
        saved = Path(tc.weights).parent / "vocabulary.json"
        if saved.is_file():
            return VocabularySource(Vocabulary.load(saved), str(saved))
    return None


def vocabulary_for_config(
    config: Any, *, root: str | os.PathLike[str] | None = None, dataset: Any = None
) -> VocabularySource | None:
    """The vocabulary of the text encoder of ``config`` (an ``FFGANConfig``), by the rules of the module docstring.

    Args:
        config: The model configuration (``config.text``, ``config.data``).
        root: Overrides ``config.data.root``.
        dataset: A dataset already built from ``config``: its ``vocabulary`` is used instead of reading the data
            folder again.

    Returns:
        None when the encoder uses no vocabulary, or when the dataset cannot tell (a CUB/COCO/folder config with
        no data folder: the encoder then takes token ids only).
    """
    if not encoder_uses_vocabulary(config.text.encoder):
        return None
    explicit = explicit_vocabulary(config)
    if explicit is not None:
        return explicit
    if dataset is not None and getattr(dataset, "vocabulary", None) is not None:
        return VocabularySource(dataset.vocabulary, _describe(dataset))
    d = config.data
    root = root if root is not None else d.root
    if d.dataset != "captioned_shapes" and root is None:
        return None
    return dataset_vocabulary(d.dataset, root, **d.kwargs)


def dataset_captions(dataset: Any, limit: int = 4000) -> Iterable[str]:
    """Up to about ``limit`` captions of ``dataset``, spread over it, without loading images when it can tell its
    captions by index (``captions(i)``); otherwise from the items of its first ``limit // 64`` indices.
    """
    size = len(dataset)
    if size == 0:
        return []
    if hasattr(dataset, "captions") and callable(dataset.captions):
        first = list(dataset.captions(0))
        per_image = max(1, len(first))
        step = max(1, size * per_image // max(1, limit))
        return [c for i in range(0, size, step) for c in dataset.captions(i)]
    items = (dataset[i] for i in range(min(size, max(1, limit // 64))))
    return [item["caption"] for item in items if isinstance(item, dict) and isinstance(item.get("caption"), str)]
