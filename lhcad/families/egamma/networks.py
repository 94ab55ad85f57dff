"""The classifiers: a convolutional network for images (residual blocks, or the older plain
blocks) and the seed study's dense network for anything.

Every network takes a batch ``(B, C, H, W)`` (images) or ``(B, F)`` (table rows; dense only)
and returns one logit per event, ``(B,)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from lhcad.families.egamma.config import ClassifyConfig
from lhcad.errors import StageError


class ImageCNN(nn.Sequential):
    """Blocks of 3x3 convolution (same padding), ReLU and 2x2 max pooling, then a dense hidden
    layer, dropout and the logit (``cnn.blocks: plain``)."""

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


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with batch normalisation, added to the block's input (through a
    strided 1x1 convolution where the shape changes), then ReLU (He et al., arXiv:1512.03385)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.norm1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.norm2 = nn.BatchNorm2d(out_channels)
        self.skip: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.skip = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.norm1(self.conv1(x)))
        return F.relu(self.norm2(self.conv2(y)) + self.skip(x))


class ResidualCNN(nn.Module):
    """A small ResNet (``cnn.blocks: residual``): a 3x3 stem convolution, one residual block per
    entry of ``channels`` (every block after the first halves the image side), then a dense
    hidden layer on the flattened maps (they keep where the energy lies relative to the
    image's centre) and on ``n_shapes`` extra per-event inputs (the shower shapes of
    ``cnn.shapes``), dropout and the logit."""

    def __init__(
        self, in_channels: int, side: tuple[int, int], channels: Sequence[int], hidden: int, dropout: float,
        n_shapes: int = 0,
    ):  # fmt: skip
        super().__init__()
        height, width = side
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, channels[0], 3, padding=1, bias=False), nn.BatchNorm2d(channels[0]), nn.ReLU(),
        ]  # fmt: skip
        previous = channels[0]
        for k, out in enumerate(channels):
            stride = 1 if k == 0 else 2
            if stride == 2 and min(height, width) < 2:
                raise StageError(f"{len(channels)} residual blocks are too many for {side[0]}x{side[1]} images")
            layers.append(ResidualBlock(previous, out, stride))
            previous = out
            if stride == 2:
                height, width = (height + 1) // 2, (width + 1) // 2
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.n_shapes = n_shapes
        self.head = nn.Sequential(
            nn.Linear(previous * height * width + n_shapes, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, 1),
        )  # fmt: skip

    def forward(self, x: torch.Tensor, shapes: torch.Tensor | None = None) -> torch.Tensor:
        # Channels-last convolutions train faster on CPU (measured, batches of 256 on two
        # threads: 772 -> 934 images/s); the values, and the flattened order the head reads,
        # are unchanged.
        features = self.features(x.contiguous(memory_format=torch.channels_last))
        if self.n_shapes:
            if shapes is None:
                raise StageError("this network also needs the shower shapes of every image")
            features = torch.cat([features, shapes], dim=1)
        return self.head(features).squeeze(1)


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


def build_network(
    kind: str, config: ClassifyConfig, input_shape: tuple[int, ...], seed: int, n_shapes: int = 0
) -> nn.Module:
    """The network ``kind`` (``cnn`` or ``dense``) for events of ``input_shape`` (without the
    batch dimension: ``(C, H, W)`` or ``(F,)``), initialised from ``seed``; a residual ``cnn``
    also reads ``n_shapes`` shower shapes per event."""
    torch.manual_seed(seed)
    if kind == "cnn":
        if len(input_shape) != 3:
            raise StageError("the cnn classifies images; use the dense network for table rows", where="classify.models")
        cnn = config.cnn
        if cnn.blocks == "residual":
            network = ResidualCNN(input_shape[0], input_shape[1:], cnn.channels, cnn.hidden, cnn.dropout, n_shapes)
            return network.to(memory_format=torch.channels_last)
        if n_shapes:
            raise StageError(
                "shower shapes enter only the residual cnn (set cnn.blocks: residual)", where="classify.cnn.shapes"
            )
        return ImageCNN(input_shape[0], input_shape[1:], cnn.channels, cnn.hidden, cnn.dropout)
    if kind == "dense":
        n_inputs = 1
        for size in input_shape:
            n_inputs *= size
        return DenseNet(n_inputs, config.dense.hidden, config.dense.dropout)
    raise StageError(f"unknown classifier {kind!r} (choose: cnn, dense)", where="classify.models")


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters of a model."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
