#!/usr/bin/env python3
"""MobileOne S0-S4 (Vasu et al., arXiv 2206.04040) in PyTorch: the train-time network, its
reparameterization into one conv per block, and an ONNX exporter for the three export styles
the toolchain must accept.

    python3 tools/mobileone_torch.py export --variant s0 --style prefused --opset 13 --seed 0 s0.onnx

The layout follows Apple's reference implementation, because the graphs it exports are what the
converter meets in the wild:
  * stage widths (64, 128, 256, 512) times per-variant multipliers; the stem is
    min(64, 64 * w0) wide and, unlike the stages, has a single over-parameterized conv branch;
  * stages of (2, 8, 10, 1) blocks, stride 2 in the first block of each stage;
  * a block is a depthwise 3x3 MobileOne block then a pointwise 1x1 MobileOne block;
  * a MobileOne block sums k conv-BN branches, a 1x1 conv-BN "scale" branch (kernels > 1 only)
    and a BN "skip" branch (stride 1, in == out only), then applies SE (optional) and ReLU;
  * the sum is written as (scale + skip) + branch_1 + ... + branch_k with absent branches as the
    integer 0, so the exporter emits Add(x, Constant 0) where the sum starts from a missing term
    (TorchScript's peephole drops it only when no in-place += follows, i.e. a lone branch);
  * S4 puts squeeze-excitation in the last 5 blocks of stage 3 and in stage 4.

With PyTorch 1.13, S0 in the prefused style exports to 508 nodes: 191 Conv, 35 BatchNormalization
(skip branches), 209 Add, 43 Relu, 27 Constant (26 of them the zeros above), GlobalAveragePool,
Reshape, Gemm. The 462 quoted for Apple's S0 cannot come from this architecture with this exporter:
without the 26 Add/Constant pairs it would be 456, and no layout choice faithful to Apple's model
(stem with one branch, stage 1 as wide as the stem) lands on 462.
"""

import argparse
import copy
import os
import sys
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

STAGE_WIDTHS = (64, 128, 256, 512)
STAGE_DEPTHS = (2, 8, 10, 1)
IMAGE_SHAPE = (1, 3, 224, 224)
NUM_CLASSES = 1000
SE_REDUCTION = 0.0625


@dataclass(frozen=True)
class Variant:
    width_multipliers: tuple
    conv_branches: int
    use_se: bool


VARIANTS = {
    "s0": Variant((0.75, 1.0, 1.0, 2.0), 4, False),
    "s1": Variant((1.5, 1.5, 2.0, 2.5), 1, False),
    "s2": Variant((1.5, 2.0, 2.5, 4.0), 1, False),
    "s3": Variant((2.0, 2.5, 3.0, 4.0), 1, False),
    "s4": Variant((3.0, 3.5, 3.5, 4.0), 1, True),
}


def conv_bn(in_channels, out_channels, kernel_size, stride, groups):
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_channels),
    )


class SqueezeExcite(nn.Module):
    def __init__(self, channels):
        super().__init__()
        reduced = int(channels * SE_REDUCTION)
        self.reduce = nn.Conv2d(channels, reduced, 1, bias=True)
        self.expand = nn.Conv2d(reduced, channels, 1, bias=True)

    def forward(self, x):
        _, channels, height, width = x.size()
        # int(): ONNX needs a static pooling kernel. Traced as sizes (Apple's code), the kernel stops being constant
        # once the batch is a dynamic axis and PyTorch 1.13 refuses to export S4; static exports are unchanged.
        weights = F.avg_pool2d(x, kernel_size=[int(height), int(width)])
        weights = torch.sigmoid(self.expand(F.relu(self.reduce(weights))))
        return x * weights.view(-1, channels, 1, 1)


class MobileOneBlock(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride, groups, conv_branches, use_se):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.groups = kernel_size, stride, groups
        self.skip = nn.BatchNorm2d(in_channels) if in_channels == out_channels and stride == 1 else None
        self.scale = conv_bn(in_channels, out_channels, 1, stride, groups) if kernel_size > 1 else None
        self.branches = nn.ModuleList(
            conv_bn(in_channels, out_channels, kernel_size, stride, groups) for _ in range(conv_branches))
        self.se = SqueezeExcite(out_channels) if use_se else nn.Identity()
        self.fused = None  # the single conv of the reparameterized (deploy) block

    def forward(self, x):
        if self.fused is not None:
            return F.relu(self.se(self.fused(x)))
        skip = self.skip(x) if self.skip is not None else 0
        scale = self.scale(x) if self.scale is not None else 0
        total = scale + skip
        for branch in self.branches:
            total += branch(x)
        return F.relu(self.se(total))

    def reparameterize(self):
        """Folds every branch into one kernel_size conv with bias: BN(conv(x)) is conv with
        W' = W * gamma / sigma and b' = beta - mean * gamma / sigma; the 1x1 scale kernel is
        zero-padded to the centre; the skip BN is a BN over an identity kernel."""
        kernels, biases = [], []
        for branch in list(self.branches) + ([self.scale] if self.scale is not None else []):
            conv, bn = branch
            kernel, bias = fold_bn(conv.weight, bn)
            pad = (self.kernel_size - kernel.shape[-1]) // 2
            kernels.append(F.pad(kernel, [pad] * 4))
            biases.append(bias)
        if self.skip is not None:
            kernel, bias = fold_bn(self.identity_kernel(), self.skip)
            kernels.append(kernel)
            biases.append(bias)
        self.fused = nn.Conv2d(self.in_channels, self.out_channels, self.kernel_size, self.stride,
                               self.kernel_size // 2, groups=self.groups, bias=True)
        self.fused.weight.data = torch.stack(kernels).sum(0)
        self.fused.bias.data = torch.stack(biases).sum(0)
        self.skip, self.scale, self.branches = None, None, nn.ModuleList()

    def identity_kernel(self):
        group_size = self.in_channels // self.groups
        kernel = torch.zeros(self.in_channels, group_size, self.kernel_size, self.kernel_size)
        centre = self.kernel_size // 2
        for channel in range(self.in_channels):
            kernel[channel, channel % group_size, centre, centre] = 1.0
        return kernel


def fold_bn(kernel, bn):
    with torch.no_grad():
        ratio = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        return kernel * ratio.reshape(-1, 1, 1, 1), bn.bias - bn.running_mean * ratio


class MobileOne(nn.Module):
    def __init__(self, variant: Variant, num_classes=NUM_CLASSES):
        super().__init__()
        widths = [int(base * multiplier) for base, multiplier in zip(STAGE_WIDTHS, variant.width_multipliers)]
        self.in_channels = min(64, int(64 * variant.width_multipliers[0]))
        self.stage0 = MobileOneBlock(3, self.in_channels, 3, 2, 1, 1, False)
        se_blocks = (0, 0, STAGE_DEPTHS[2] // 2, STAGE_DEPTHS[3]) if variant.use_se else (0, 0, 0, 0)
        self.stage1, self.stage2, self.stage3, self.stage4 = (
            self.make_stage(width, depth, se_count, variant.conv_branches)
            for width, depth, se_count in zip(widths, STAGE_DEPTHS, se_blocks))
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(widths[3], num_classes)

    def make_stage(self, width, depth, se_count, conv_branches):
        blocks = []
        for index in range(depth):
            stride = 2 if index == 0 else 1
            use_se = index >= depth - se_count
            blocks.append(MobileOneBlock(self.in_channels, self.in_channels, 3, stride, self.in_channels,
                                         conv_branches, use_se))
            blocks.append(MobileOneBlock(self.in_channels, width, 1, 1, 1, conv_branches, use_se))
            self.in_channels = width
        return nn.Sequential(*blocks)

    def forward(self, x):
        x = self.stage4(self.stage3(self.stage2(self.stage1(self.stage0(x)))))
        x = self.gap(x)
        return self.linear(x.view(x.size(0), -1))


def reparameterize(model):
    """The deploy-time twin of `model` (as Apple's reparameterize_model): a copy in which every
    MobileOne block is one conv, computing the same function in eval mode."""
    deployed = copy.deepcopy(model).eval()
    for module in deployed.modules():
        if isinstance(module, MobileOneBlock):
            module.reparameterize()
    return deployed


def build(variant_name, seed):
    """A MobileOne with seeded random weights and BN statistics far from the identity (so that
    folding is really exercised). The distributions (mirrored by the C++ builder, lib/models/mobileone.cpp)
    keep activations and logits of order one through the whole depth:
      conv branch weights  N(0, 1.5 / (fan_in * terms))   terms = branches summed in the block
      every BN             gamma U(0.5, 1.5), beta N(0, 0.1^2), mean N(0, 0.1^2), var U(0.5, 2)
      skip BN              gamma additionally times terms^-1/2
      SE convs             weights N(0, 1 / fan_in), biases U(-0.1, 0.1), expand bias + 3 (gates open)
      classifier           weights N(0, 4 / fan_in), biases U(-0.1, 0.1)"""
    torch.manual_seed(seed)
    model = MobileOne(VARIANTS[variant_name])
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, MobileOneBlock):
                randomize_block(module)
            elif isinstance(module, SqueezeExcite):
                for conv in (module.reduce, module.expand):
                    conv.weight.normal_(0.0, (1.0 / conv.weight[0].numel()) ** 0.5)
                    conv.bias.uniform_(-0.1, 0.1)
                module.expand.bias.add_(3.0)
        model.linear.weight.normal_(0.0, (4.0 / model.linear.in_features) ** 0.5)
        model.linear.bias.uniform_(-0.1, 0.1)
    return model.eval()


def randomize_block(block):
    terms = len(block.branches) + (block.scale is not None) + (block.skip is not None)
    for conv, bn in list(block.branches) + ([block.scale] if block.scale is not None else []):
        conv.weight.normal_(0.0, (1.5 / (conv.weight[0].numel() * terms)) ** 0.5)
        randomize_bn(bn)
    if block.skip is not None:
        randomize_bn(block.skip, gain=terms ** -0.5)


def randomize_bn(bn, gain=1.0):
    channels = bn.num_features
    bn.weight.copy_(gain * torch.empty(channels).uniform_(0.5, 1.5))
    bn.bias.copy_(torch.empty(channels).normal_(0.0, 0.1))
    bn.running_mean.copy_(torch.empty(channels).normal_(0.0, 0.1))
    bn.running_var.copy_(torch.empty(channels).uniform_(0.5, 2.0))


def sample_input(seed, batch=1):
    generator = torch.Generator().manual_seed(seed + 1)
    return torch.randn((batch,) + IMAGE_SHAPE[1:], generator=generator)


def export(model, path, style, opset):
    sample = sample_input(0)
    options = dict(opset_version=opset, input_names=["input"], output_names=["output"])
    if style == "prefused":
        options.update(do_constant_folding=True)
    elif style == "bn":
        options.update(training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    elif style == "dynamic":
        options.update(do_constant_folding=True, dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    else:
        raise ValueError(f"unknown export style '{style}'")
    torch.onnx.export(model, sample, path, **options)


def save_io(model, directory, seed):
    os.makedirs(directory, exist_ok=True)
    sample = sample_input(seed)
    with torch.no_grad():
        output = model(sample)
    np.save(os.path.join(directory, "input.npy"), sample.numpy())
    np.save(os.path.join(directory, "output.npy"), output.numpy())


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    exporter = commands.add_parser("export", help="write a MobileOne train graph (or its deploy twin) as ONNX")
    exporter.add_argument("--variant", choices=sorted(VARIANTS), default="s0")
    exporter.add_argument("--style", choices=("prefused", "bn", "dynamic"), default="prefused",
                          help="prefused: eval, constant folding (BN folded into conv by the exporter); "
                               "bn: TrainingMode.PRESERVE without folding (BatchNormalization nodes kept); "
                               "dynamic: prefused with a symbolic batch, opset 17 unless --opset is given")
    exporter.add_argument("--opset", type=int, help="ONNX opset (default 13; 17 for the dynamic style)")
    exporter.add_argument("--seed", type=int, default=0)
    exporter.add_argument("--deploy", action="store_true",
                          help="export the PyTorch-reparameterized model instead of the train-time one")
    exporter.add_argument("--save-io", metavar="DIR",
                          help="also write input.npy (seeded) and output.npy (PyTorch's output for it) into DIR")
    exporter.add_argument("output")
    args = parser.parse_args(argv)

    opset = args.opset or (17 if args.style == "dynamic" else 13)
    model = build(args.variant, args.seed)
    if args.deploy:
        model = reparameterize(model)
    export(model, args.output, args.style, opset)
    if args.save_io:
        save_io(model, args.save_io, args.seed)


if __name__ == "__main__":
    main(sys.argv[1:])
