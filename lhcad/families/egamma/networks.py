"""The classifiers: a small CNN for images and the seed study's dense network for anything.

Both take a batch ``(B, C, H, W)`` (images) or ``(B, F)`` (table rows; dense only) and return
one logit per event, ``(B,)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lhcad.families.egamma.config import ClassifyConfig
from lhcad.errors import StageError


class ImageCNN(nn.Sequential):
    """Blocks of 3x3 convolution (same padding), ReLU and 2x2 max pooling, then a dense hidden
    layer, dropout and the logit."""

    def __init__(self, in_channels: int, side: tuple[int, int], channels: Sequence[int], hidden: int, dropout: float):
        layers: list[nn.Module] = []
        height, width = side
        previous = in_channels
        for out in channels:
            if min(height, width) < 2:
                raise StageError(f"{len(channels)} pooling blocks are too many for {side[0]}x{side[1]} images")
            layers += [nn.Conv2d(previous, out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            previous, height, width = out, height // 2, width // 2
        layers += [
            nn.Flatten(), nn.Linear(previous * height * width, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, 1), nn.Flatten(0),
        ]  # fmt: skip
        super().__init__(*layers)


class DenseNet(nn.Sequential):
    """Flatten, then ReLU layers each followed by dropout, then the logit (the seed study's
    Keras network, in torch)."""

    def __init__(self, n_inputs: int, hidden: Sequence[int], dropout: float):
        layers: list[nn.Module] = [nn.Flatten()]
        previous = n_inputs
        for width in hidden:
            layers += [nn.Linear(previous, width), nn.ReLU(), nn.Dropout(dropout)]
            previous = width
        layers += [nn.Linear(previous, 1), nn.Flatten(0)]
        super().__init__(*layers)


def build_network(kind: str, config: ClassifyConfig, input_shape: tuple[int, ...], seed: int) -> nn.Module:
    """The network ``kind`` (``cnn`` or ``dense``) for events of ``input_shape`` (without the
    batch dimension: ``(C, H, W)`` or ``(F,)``), initialised from ``seed``."""
    torch.manual_seed(seed)
    if kind == "cnn":
        if len(input_shape) != 3:
            raise StageError("the cnn classifies images; use the dense network for table rows", where="classify.models")
        return ImageCNN(input_shape[0], input_shape[1:], config.cnn.channels, config.cnn.hidden, config.cnn.dropout)
    if kind == "dense":
        n_inputs = 1
        for size in input_shape:
            n_inputs *= size
        return DenseNet(n_inputs, config.dense.hidden, config.dense.dropout)
    raise StageError(f"unknown classifier {kind!r} (choose: cnn, dense)", where="classify.models")


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters of a model."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
