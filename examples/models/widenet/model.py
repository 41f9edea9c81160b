"""A differently shaped network (seeded, untrained): a strided wide stem, two residual blocks and
an MLP head; its blocks map to V1, V4 and IT."""

import torch
from torch import nn


class Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


class WideNet(nn.Module):
    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 24, kernel_size=7, stride=4, padding=3), nn.ReLU())
        self.block1 = nn.Sequential(Residual(24), nn.Conv2d(24, 40, 3, stride=2, padding=1), nn.ReLU())
        self.block2 = nn.Sequential(Residual(40), nn.AdaptiveAvgPool2d(3))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(40 * 9, 96), nn.ReLU())
        self.out = nn.Linear(96, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.head(self.block2(self.block1(self.stem(x)))))


def build(seed: int = 1) -> WideNet:
    torch.manual_seed(seed)
    return WideNet()
