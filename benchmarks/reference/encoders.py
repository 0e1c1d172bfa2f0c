"""Reference DAMSM encoders (docs/ffgan.md "DAMSM encoders"). Benchmarks only.

``RNN_ENCODER``: embedding → dropout → 1-layer BiLSTM over a packed batch sorted by decreasing length; words
``(B, 256, T)`` and sentence ``(B, 256)``. ``CNN_ENCODER``: a torchvision Inception-v3 called layer by layer on
the image resized to 299² (``align_corners=True``, the ``nn.Upsample`` built inside ``forward`` as officially), with
the two trainable projections.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

__all__ = ["CNN_ENCODER", "RNN_ENCODER"]


class RNN_ENCODER(nn.Module):
    """Official DAMSM text encoder.

    Args:
        ntoken: Vocabulary size (index 0 = padding).
        ninput: Embedding width (300).
        drop_prob: Dropout on the embeddings (train mode only).
        nhidden: Output width (both directions together, 256).

    Shapes:
        - captions ``(B, T)`` long, sorted by decreasing length; cap_lens ``(B,)``.
        - outputs: words ``(B, nhidden, T_max)`` (T_max = longest caption), sentence ``(B, nhidden)``.
    """

    def __init__(self, ntoken: int, ninput: int = 300, drop_prob: float = 0.5, nhidden: int = 256) -> None:
        super().__init__()
        self.ntoken = ntoken
        self.ninput = ninput
        self.nhidden = nhidden // 2
        self.encoder = nn.Embedding(ntoken, ninput)
        self.drop = nn.Dropout(drop_prob)
        # The official code passes dropout=0.5 to a 1-layer LSTM, which has no effect (docs/ffgan.md "Where the
        # official code and the paper differ").
        self.rnn = nn.LSTM(ninput, self.nhidden, 1, batch_first=True, bidirectional=True)
        self.encoder.weight.data.uniform_(-0.1, 0.1)

    def init_hidden(self, bsz: int) -> tuple[torch.Tensor, torch.Tensor]:
        weight = next(self.parameters())
        return (weight.new_zeros(2, bsz, self.nhidden), weight.new_zeros(2, bsz, self.nhidden))

    def forward(
        self, captions: torch.Tensor, cap_lens: torch.Tensor, hidden: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if hidden is None:
            hidden = self.init_hidden(captions.size(0))
        emb = self.drop(self.encoder(captions))
        lens = cap_lens.data.tolist()
        packed = pack_padded_sequence(emb, lens, batch_first=True)
        output, hidden = self.rnn(packed, hidden)
        output = pad_packed_sequence(output, batch_first=True)[0]
        words_emb = output.transpose(1, 2)
        sent_emb = hidden[0].transpose(0, 1).contiguous().view(-1, self.nhidden * 2)
        return words_emb, sent_emb


class CNN_ENCODER(nn.Module):
    """Official DAMSM image encoder on a frozen torchvision Inception-v3 (random weights unless loaded).

    Shapes:
        - x: ``(B, 3, H, W)`` in [-1, 1].
        - outputs: region features ``(B, nef, 17, 17)``, global code ``(B, nef)``.
    """

    def __init__(self, nef: int = 256) -> None:
        super().__init__()
        from torchvision.models import inception_v3

        model = inception_v3(weights=None, aux_logits=False, init_weights=False)
        for param in model.parameters():
            param.requires_grad = False
        for name in (
            "Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3",
            "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
            "Mixed_7a", "Mixed_7b", "Mixed_7c",
        ):  # fmt: skip
            setattr(self, name, getattr(model, name))
        self.emb_features = nn.Conv2d(768, nef, kernel_size=1, stride=1, padding=0, bias=False)
        self.emb_cnn_code = nn.Linear(2048, nef)
        self.emb_features.weight.data.uniform_(-0.1, 0.1)
        self.emb_cnn_code.weight.data.uniform_(-0.1, 0.1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = nn.Upsample(size=(299, 299), mode="bilinear", align_corners=True)(x)
        x = self.Conv2d_1a_3x3(x)
        x = self.Conv2d_2a_3x3(x)
        x = self.Conv2d_2b_3x3(x)
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_3b_1x1(x)
        x = self.Conv2d_4a_3x3(x)
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Mixed_5b(x)
        x = self.Mixed_5c(x)
        x = self.Mixed_5d(x)
        x = self.Mixed_6a(x)
        x = self.Mixed_6b(x)
        x = self.Mixed_6c(x)
        x = self.Mixed_6d(x)
        x = self.Mixed_6e(x)
        features = x
        x = self.Mixed_7a(x)
        x = self.Mixed_7b(x)
        x = self.Mixed_7c(x)
        x = F.avg_pool2d(x, kernel_size=8)
        x = x.view(x.size(0), -1)
        cnn_code = self.emb_cnn_code(x)
        features = self.emb_features(features)
        return features, cnn_code
