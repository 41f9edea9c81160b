"""A four-stage convolutional network (seeded, untrained): stages map to V1, V2, V4 and IT.

Small enough to score on a CPU in seconds; its weights come from `torch.manual_seed(0)`.
"""

import torch
from torch import nn


def _stage(channels_in: int, channels_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(channels_in, channels_out, kernel_size=3, padding=1),
        nn.BatchNorm2d(channels_out),
        nn.ReLU(),
        nn.MaxPool2d(2),
    )


class ConvNet4(nn.Module):
    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.stage1 = _stage(3, 16)
        self.stage2 = _stage(16, 32)
        self.stage3 = _stage(32, 48)
        self.stage4 = _stage(48, 64)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.classifier = nn.Linear(64 * 4, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.stage4(self.stage3(self.stage2(self.stage1(x)))))
        return self.classifier(x.flatten(1))


def build(seed: int = 0) -> ConvNet4:
    torch.manual_seed(seed)
    return ConvNet4()
