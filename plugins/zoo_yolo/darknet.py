"""An nn.Module built from Darknet cfg sections: the layer types YOLOv3 uses, with Darknet's numerics.

Layer i of the cfg (after [net]) is `net.layers[i]`, so state_dict keys read `layers.<i>.conv.weight`,
`layers.<i>.bn.running_mean`, ... (the zoo's weights layout for Darknet models).

Numerics follow OpenCV's Darknet importer, the reference the tests compare against:
- batch norm is (x - mean) / sqrt(var + 1e-6) (nn.BatchNorm2d, eps 1e-6, as OpenCV sets it; Darknet
  itself divides by sqrt(var) + 1e-6, which differs only for variances near zero);
- maxpool windows start at -padding/2 with padding = size - 1 by default, and pad cells never win the
  max (Darknet uses -FLT_MAX), so the size-2 stride-1 pool in yolov3-tiny pads right/bottom only;
- leaky is max(x, 0.1 x); upsample is nearest; a [yolo] layer decodes its grid (see YoloLayer).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from zoo_yolo.cfg import Section

ACTIVATIONS = ("linear", "leaky", "relu", "logistic", "mish", "swish")


def activation(name: str) -> nn.Module:
    if name == "leaky":
        return nn.LeakyReLU(0.1, inplace=True)
    if name == "relu":
        return nn.ReLU(inplace=True)
    if name == "logistic":
        return nn.Sigmoid()
    if name == "mish":
        return nn.Mish(inplace=True)
    if name == "swish":
        return nn.SiLU(inplace=True)
    return nn.Identity()


class ConvBlock(nn.Sequential):
    """[convolutional]: conv (bias only without batch norm), optional BatchNorm2d, activation.

    A named nn.Sequential so that zoo.ops.fuse.fuse_conv_bn can fold the BN into the conv.
    """

    def __init__(self, c_in: int, filters: int, size: int, stride: int, padding: int, groups: int,
                 batch_normalize: bool, act: str):
        mods: OrderedDict[str, nn.Module] = OrderedDict()
        mods["conv"] = nn.Conv2d(c_in, filters, size, stride, padding, groups=groups, bias=not batch_normalize)
        if batch_normalize:
            mods["bn"] = nn.BatchNorm2d(filters, eps=1e-6)
        mods["act"] = activation(act)
        super().__init__(mods)
        self.batch_normalize = batch_normalize


class MaxPool(nn.Module):
    """[maxpool] with Darknet's geometry: window i starts at i*stride - padding//2; padded cells are -FLT_MAX."""

    def __init__(self, size: int, stride: int, padding: int):
        super().__init__()
        self.size, self.stride, self.padding = size, stride, padding

    def out_size(self, n: int) -> int:
        return (n + self.padding - self.size) // self.stride + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        begin = self.padding // 2
        # pad at the end so that exactly out_size windows fit; a negative amount means Darknet leaves the
        # last rows unread, which max_pool2d's floor division does too
        end_h = max((self.out_size(h) - 1) * self.stride + self.size - h - begin, 0)
        end_w = max((self.out_size(w) - 1) * self.stride + self.size - w - begin, 0)
        if begin == end_h == end_w and 2 * begin <= self.size:
            return F.max_pool2d(x, self.size, self.stride, begin)  # symmetric: max_pool2d pads with -inf itself
        if begin < self.size and max(end_h, end_w) < self.size:
            # every window holds the real edge cell it would replicate, so replicating equals -inf padding
            x = F.pad(x, (begin, end_w, begin, end_h), mode="replicate")
        else:
            x = F.pad(x, (begin, end_w, begin, end_h), value=torch.finfo(x.dtype).min)  # Darknet's -FLT_MAX
        return F.max_pool2d(x, self.size, self.stride)

    def extra_repr(self) -> str:
        return f"size={self.size}, stride={self.stride}, padding={self.padding}"


class Route(nn.Module):
    """[route]: concatenate earlier outputs along channels (with `groups`: take one channel group of each)."""

    def __init__(self, sources: list[int], groups: int = 1, group_id: int = 0):
        super().__init__()
        self.sources, self.groups, self.group_id = sources, groups, group_id

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        if self.groups > 1:
            inputs = [t.chunk(self.groups, dim=1)[self.group_id] for t in inputs]
        return inputs[0] if len(inputs) == 1 else torch.cat(inputs, 1)

    def extra_repr(self) -> str:
        return f"sources={self.sources}" + (f", groups={self.groups}, group_id={self.group_id}" if self.groups > 1 else "")


class Shortcut(nn.Module):
    """[shortcut]: previous output + the output of layer `source` (same shape), then the activation."""

    def __init__(self, source: int, act: str):
        super().__init__()
        self.source = source
        self.act = activation(act)

    def forward(self, x: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        return self.act(x + other)

    def extra_repr(self) -> str:
        return f"source={self.source}"


class Upsample(nn.Module):
    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=self.stride, mode="nearest")

    def extra_repr(self) -> str:
        return f"stride={self.stride}"


class YoloLayer(nn.Module):
    """[yolo]: decode a (N, A*(5+C), H, W) grid into (N, H*W*A, 5+C) rows, ordered (y, x, anchor) as OpenCV does.

    Each row is [cx, cy, w, h, objectness, objectness * p(class) ...] with boxes in network-input pixels:
    cx = (x + sigmoid(tx)) * input_w / W, w = exp(tw) * anchor_w (anchors are in input pixels at any size).
    """

    def __init__(self, anchors: list[tuple[float, float]], num_classes: int, scale_x_y: float = 1.0):
        super().__init__()
        self.anchors = [tuple(map(float, a)) for a in anchors]  # plain floats: nothing to lose on a meta build
        self.num_classes = num_classes
        self.scale_x_y = scale_x_y

    def forward(self, x: torch.Tensor, input_hw: tuple[int, int]) -> torch.Tensor:
        n, _, h, w = x.shape
        a, k = len(self.anchors), self.num_classes + 5
        p = x.view(n, a, k, h, w).permute(0, 3, 4, 1, 2)  # (N, H, W, A, K)
        gy, gx = torch.meshgrid(torch.arange(h, device=x.device, dtype=x.dtype),
                                torch.arange(w, device=x.device, dtype=x.dtype), indexing="ij")
        grid = torch.stack((gx, gy), -1).view(h, w, 1, 2)
        stride = torch.tensor([input_hw[1] / w, input_hw[0] / h], device=x.device, dtype=x.dtype)
        anchors = torch.tensor(self.anchors, device=x.device, dtype=x.dtype)
        xy = p[..., 0:2].sigmoid()
        if self.scale_x_y != 1.0:
            xy = xy * self.scale_x_y - (self.scale_x_y - 1) / 2
        xy = (xy + grid) * stride
        wh = p[..., 2:4].exp() * anchors
        obj = p[..., 4:5].sigmoid()
        cls = p[..., 5:].sigmoid() * obj
        return torch.cat((xy, wh, obj, cls), -1).reshape(n, h * w * a, k)

    def extra_repr(self) -> str:
        return f"anchors={self.anchors}, classes={self.num_classes}"


@dataclass(frozen=True)
class LayerShape:
    channels: int
    height: int
    width: int


class Darknet(nn.Module):
    """The network a cfg describes. forward(NCHW) -> (N, rows, 5 + classes), every [yolo] layer's rows in order.

    Activations and convolution weights are kept channels_last: on CPU, oneDNN then skips a layout
    conversion around every convolution (yolov3-tiny eager, 1 thread: ~157 -> ~112 ms per 416 image);
    the numbers are the same up to float summation order. Set `memory_format = torch.contiguous_format`
    to turn it off.
    """

    memory_format = torch.channels_last

    def __init__(self, sections: list[Section]):
        super().__init__()
        net = sections[0]
        self.input_hw = (net.get_int("height", 416), net.get_int("width", 416))
        self.in_channels = net.get_int("channels", 3)
        layers: list[nn.Module] = []
        self.inputs: list[list[int]] = []  # absolute indices each layer reads (besides the previous output)
        self.shapes: list[LayerShape] = []
        self.num_classes: int | None = None
        shape = LayerShape(self.in_channels, *self.input_hw)
        self._types = [s.type for s in sections[1:]]
        for i, s in enumerate(sections[1:]):
            layer, shape, reads = self._make(i, s, shape)
            layers.append(layer)
            self.inputs.append(reads)
            self.shapes.append(shape)
        if not any(isinstance(m, YoloLayer) for m in layers):
            raise sections[0].error("the cfg has no [yolo] layer: only YOLO detection networks are supported")
        self.layers = nn.ModuleList(layers)
        used = {j for reads in self.inputs for j in reads}
        self.keep = [i in used for i in range(len(layers))]
        self.weights_to_memory_format()
        self.register_load_state_dict_post_hook(lambda module, _keys: module.weights_to_memory_format())

    def weights_to_memory_format(self) -> None:
        """Lay out conv weights in `memory_format` (after building and after every load_state_dict)."""
        with torch.no_grad():
            for m in self.modules():
                if isinstance(m, nn.Conv2d) and not m.weight.is_contiguous(memory_format=self.memory_format):
                    m.weight.data = m.weight.data.contiguous(memory_format=self.memory_format)

    # ------------------------------------------------------------------ building
    def _abs(self, s: Section, key: str, i: int, j: int) -> int:
        k = j if j >= 0 else i + j
        if not 0 <= k < i:
            raise s.error(f"'{key}' refers to layer {j} ({k} absolute), but only layers 0..{i - 1} come before", key)
        if self._types[k] == "yolo":
            raise s.error(f"'{key}' refers to layer {k}, a [yolo] layer, whose output cannot be read", key)
        return k

    def _make(self, i: int, s: Section, prev: LayerShape) -> tuple[nn.Module, LayerShape, list[int]]:
        t = s.type
        if t == "convolutional":
            filters, size = s.get_int("filters"), s.get_int("size", 1)
            stride, groups = s.get_int("stride", 1), s.get_int("groups", 1)
            padding = size // 2 if s.get_int("pad", 0) else s.get_int("padding", 0)
            act = s.get_str("activation", "logistic")
            if act not in ACTIVATIONS:
                raise s.error(f"activation '{act}' is not supported (supported: {', '.join(ACTIVATIONS)})", "activation")
            if filters < 1 or size < 1 or stride < 1 or groups < 1:
                raise s.error("filters, size, stride and groups must be positive")
            if prev.channels % groups or filters % groups:
                raise s.error(f"groups={groups} does not divide the {prev.channels} input channels and {filters} filters", "groups")
            if s.get_int("flipped", 0) or s.get_int("binary", 0) or s.get_int("xnor", 0):
                raise s.error("flipped/binary/xnor convolutions are not supported")
            layer = ConvBlock(prev.channels, filters, size, stride, padding, groups, bool(s.get_int("batch_normalize", 0)), act)
            out = LayerShape(filters, (prev.height + 2 * padding - size) // stride + 1,
                             (prev.width + 2 * padding - size) // stride + 1)
            return layer, out, []
        if t == "maxpool":
            stride = s.get_int("stride", 1)
            size = s.get_int("size", stride)
            padding = s.get_int("padding", size - 1)
            if size < 1 or stride < 1 or padding < 0:
                raise s.error("size and stride must be positive and padding not negative")
            pool = MaxPool(size, stride, padding)
            return pool, LayerShape(prev.channels, pool.out_size(prev.height), pool.out_size(prev.width)), []
        if t == "route":
            srcs = [self._abs(s, "layers", i, j) for j in s.get_ints("layers")]
            if not srcs:
                raise s.error("'layers=' lists no layer", "layers")
            groups, group_id = s.get_int("groups", 1), s.get_int("group_id", 0)
            shapes = [self.shapes[k] for k in srcs]
            if len({(x.height, x.width) for x in shapes}) != 1:
                sizes = ", ".join(f"layer {k}: {x.height}x{x.width}" for k, x in zip(srcs, shapes))
                raise s.error(f"routes layers of different spatial sizes ({sizes})", "layers")
            if groups < 1 or not 0 <= group_id < groups or any(x.channels % groups for x in shapes):
                raise s.error(f"groups={groups}, group_id={group_id} do not split the routed channels", "groups")
            c = sum(x.channels // groups for x in shapes)
            return Route(srcs, groups, group_id), LayerShape(c, shapes[0].height, shapes[0].width), srcs
        if t == "shortcut":
            src = self._abs(s, "from", i, s.get_int("from"))
            other = self.shapes[src]
            if other != prev:
                raise s.error(f"adds layer {src} ({other.channels}x{other.height}x{other.width}) to the previous "
                              f"output ({prev.channels}x{prev.height}x{prev.width}); only equal shapes are supported", "from")
            if s.get_float("alpha", 1.0) != 1.0 or s.get_float("beta", 1.0) != 1.0:
                raise s.error("weighted shortcuts (alpha/beta) are not supported")
            act = s.get_str("activation", "linear")
            if act not in ACTIVATIONS:
                raise s.error(f"activation '{act}' is not supported", "activation")
            return Shortcut(src, act), prev, [src]
        if t == "upsample":
            stride = s.get_int("stride", 2)
            if stride < 1:
                raise s.error("only positive (up-sampling) strides are supported", "stride")
            return Upsample(stride), LayerShape(prev.channels, prev.height * stride, prev.width * stride), []
        if t == "yolo":
            classes = s.get_int("classes", 20)
            anchors = s.get_floats("anchors")
            if len(anchors) % 2:
                raise s.error("'anchors=' must hold width,height pairs", "anchors")
            pairs = list(zip(anchors[0::2], anchors[1::2]))
            num = s.get_int("num", len(pairs))
            if num != len(pairs):
                raise s.error(f"num={num} but {len(pairs)} anchors are given", "num")
            mask = s.get_ints("mask", list(range(num)))
            if any(not 0 <= m < num for m in mask):
                raise s.error(f"mask {mask} refers to anchors outside 0..{num - 1}", "mask")
            want = len(mask) * (classes + 5)
            if prev.channels != want:
                raise s.error(f"expects {len(mask)} x (5 + {classes}) = {want} input channels, the previous layer gives "
                              f"{prev.channels}")
            if self.num_classes is not None and classes != self.num_classes:
                raise s.error(f"classes={classes} differs from an earlier [yolo] layer ({self.num_classes})", "classes")
            self.num_classes = classes
            layer = YoloLayer([pairs[m] for m in mask], classes, s.get_float("scale_x_y", 1.0))
            return layer, prev, []
        if t in ("dropout",):
            return nn.Identity(), prev, []
        raise s.error("layer type is not supported (supported: convolutional, maxpool, route, shortcut, upsample, yolo, dropout)")

    # ------------------------------------------------------------------ running
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = self.forward_layers(x)
        return outs[0] if len(outs) == 1 else torch.cat(outs, 1)

    def forward_layers(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The decoded rows of each [yolo] layer separately, in cfg order."""
        input_hw = (x.shape[-2], x.shape[-1])
        x = x.contiguous(memory_format=self.memory_format)
        outputs: list[torch.Tensor | None] = []
        detections: list[torch.Tensor] = []
        for layer, reads, keep in zip(self.layers, self.inputs, self.keep):
            if isinstance(layer, Route):
                x = layer([outputs[k] for k in reads])  # type: ignore[misc]
            elif isinstance(layer, Shortcut):
                x = layer(x, outputs[reads[0]])  # type: ignore[arg-type]
            elif isinstance(layer, YoloLayer):
                detections.append(layer(x, input_hw))
            else:
                x = layer(x)
            outputs.append(x if keep else None)
        return detections

    def conv_layers(self) -> list[tuple[int, ConvBlock]]:
        """(layer index, block) for every [convolutional], in file order (the .weights order)."""
        return [(i, m) for i, m in enumerate(self.layers) if isinstance(m, ConvBlock)]
