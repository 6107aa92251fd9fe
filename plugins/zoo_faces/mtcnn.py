"""MTCNN (Zhang et al. 2016) as facenet-pytorch 2.6.0 implements it, with the cascade kept in torch.

The three networks have facenet-pytorch's module names, so its `pnet.pt` / `rnet.pt` / `onet.pt` state
dicts load under the prefixes `pnet.` / `rnet.` / `onet.`. The cascade follows its `detect_face`
(facenet_pytorch/models/utils/detect_face.py) step for step, with the same float32 arithmetic, so boxes,
scores and landmarks agree with it; what differs is how the work is laid out:

- Area resampling (the reference's `interpolate(mode="area")`, i.e. adaptive average pooling) is read off
  one summed-area table of the image: all pyramid levels (or all crops of a stage) are one gather of
  window corners.
  Window sums of uint8 pixels are exact integers and the mean is formed as `(sum / kh) / kw` in float32,
  which is what ATen's CPU kernel does, so the resampled pixels are bit-identical to the reference's.
- The whole pyramid goes through P-Net in one call: the levels are packed into one canvas at even offsets
  (P-Net's stride is 2; MaxRects packing, ~10% of gaps). Where a level's conv1 output has an odd height
  (width), the canvas row (column) of conv1 outputs just past it is set to -inf before the ceil-mode max
  pool, so the pooling window that the reference truncates at that edge sees only the level's values;
  every other pooling window of a level lies inside it (even offsets), and every output cell whose
  receptive field leaves its level is discarded, so each level's P-Net output equals the per-level run
  up to float rounding (tests: real photos and odd level sizes).
- The networks run in channels-last memory, with the ceil-mode max pools as strided maxima
  (`max_pool_ceil`, equal to ATen's): ATen's NCHW max-pool kernel is the reference's largest CPU cost.
- Candidates, NMS, box regression, squaring, clipping and crops are tensor operations over all boxes;
  no numpy round trips and no per-box Python loops.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torchvision.ops import nms

from zoo.ops.tracing import is_exporting

# facenet-pytorch 2.6.0 MTCNN() defaults (models/mtcnn.py, MTCNN.__init__)
MIN_FACE_SIZE = 20
THRESHOLDS = (0.6, 0.7, 0.7)
FACTOR = 0.709
# facenet-pytorch detect_face constants
PNET_CELL = 12  # P-Net's window: the pyramid stops when the image's shorter side drops below it
PNET_STRIDE = 2
PNET_NMS_PER_SCALE = 0.5
PNET_NMS = 0.7
RNET_NMS = 0.7
ONET_NMS_MIN = 0.7  # "Min" overlap (intersection over the smaller area), as batched_nms_numpy(..., 'Min')
RNET_SIZE = 24
ONET_SIZE = 48
PIXEL_MEAN = 127.5
PIXEL_SCALE = 0.0078125  # 2**-7: scaling by it is exact, which `window_means` uses to fold normalisation in


def _pool_out(n: int, k: int, s: int) -> int:
    """Output length of a ceil-mode max pool without padding (ATen's pooling_output_shape)."""
    out = -(-(n - k) // s) + 1
    return out - 1 if (out - 1) * s >= n else out


def max_pool_ceil(x: torch.Tensor, k: int, s: int) -> torch.Tensor:
    """`max_pool2d(x, k, s, ceil_mode=True)` as strided maxima over channels-last memory.

    Equal to ATen's result (a maximum is exact; a window cut by the edge takes the maximum of what is
    there, as ATen's ceil mode does), and several times faster on CPU than ATen's NCHW kernel, which is
    the reference's bottleneck. Returns a channels-last NCHW tensor. While an exporter traces the stage nets
    it is ATen's own max_pool2d: tracers record the in-place maxima into views wrongly (wrong shapes in ONNX).
    """
    if is_exporting():
        return torch.nn.functional.max_pool2d(x, k, s, ceil_mode=True)
    h = x.contiguous(memory_format=torch.channels_last).permute(0, 2, 3, 1)  # NHWC view
    n, rows_in, cols_in, c = h.shape
    if k == s == 2 and rows_in % 2 == 0 and cols_in % 2 == 0:  # P-Net's pool on the packed canvas: no edge windows
        pairs = h.reshape(n, rows_in // 2, 2, cols_in // 2, 2 * c)  # a view: row pairs, column pairs side by side
        rows = torch.maximum(pairs[:, :, 0], pairs[:, :, 1])
        return torch.maximum(rows[..., :c], rows[..., c:]).permute(0, 3, 1, 2)
    rows = _strided_max(h, 1, k, s)
    return _strided_max(rows, 2, k, s).permute(0, 3, 1, 2)


def _strided_max(t: torch.Tensor, dim: int, k: int, s: int) -> torch.Tensor:
    """Ceil-mode max over windows of k at stride s along `dim`; the last windows may hold fewer elements."""
    n = t.shape[dim]
    out_len = _pool_out(n, k, s)
    index: list[Any] = [slice(None)] * t.dim()

    def tap(i: int) -> torch.Tensor:  # element i of every window that has one
        count = min(out_len, (n - 1 - i) // s + 1)
        index[dim] = slice(i, i + (count - 1) * s + 1, s)
        return t[tuple(index)]

    first = tap(0)
    if k == 1:
        return first.clone()
    second = tap(1)
    if second.shape[dim] == out_len:  # every window has two elements: the first maximum makes the output
        out, start = torch.maximum(first, second), 2
    else:
        out, start = first.clone(), 1
    for i in range(start, k):
        part = tap(i)
        head = out.narrow(dim, 0, part.shape[dim])
        torch.maximum(head, part, out=head)
    return out


def prelu(x: torch.Tensor, module: nn.PReLU) -> torch.Tensor:
    """`module(x)` for channels-last x, with the same arithmetic, ~6x faster on CPU.

    ATen's PReLU kernel broadcasts the per-channel weight over NHWC memory element by element; viewed as
    rows of r pixels x C channels (the weight repeated r times) it is a plain row-broadcast it vectorises.
    """
    n, c = x.shape[:2]
    pixels = x.numel() // max(c, 1)
    if is_exporting() or x.dim() != 4 or module.weight.numel() != c or not x.is_contiguous(
            memory_format=torch.channels_last):
        return module(x)
    r = next(k for k in (16, 8, 4, 2, 1) if pixels % k == 0)
    rows = x.permute(0, 2, 3, 1).reshape(-1, c * r)  # a view: x is channels-last
    out = torch.nn.functional.prelu(rows, module.weight.repeat(r))
    return out.view(n, x.shape[2], x.shape[3], c).permute(0, 3, 1, 2)


class PNet(nn.Module):
    """Proposal network: fully convolutional, one 12x12 window per output cell at stride 2."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 10, kernel_size=3)
        self.prelu1 = nn.PReLU(10)
        self.conv2 = nn.Conv2d(10, 16, kernel_size=3)
        self.prelu2 = nn.PReLU(16)
        self.conv3 = nn.Conv2d(16, 32, kernel_size=3)
        self.prelu3 = nn.PReLU(32)
        self.conv4_1 = nn.Conv2d(32, 2, kernel_size=1)
        self.softmax4_1 = nn.Softmax(dim=1)
        self.conv4_2 = nn.Conv2d(32, 4, kernel_size=1)

    def forward(self, x: torch.Tensor, outside: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(box regression [N,4,h,w], face probabilities [N,2,h,w]).

        `outside`: for a packed pyramid (N = 1), the flat positions (y * (W-2) + x) of the conv1 outputs just past
        the levels' odd edges; they become -inf before the max pool (see the module docstring).
        """
        x = prelu(self.conv1(x.contiguous(memory_format=torch.channels_last)), self.prelu1)
        if outside is not None:
            x = x.contiguous(memory_format=torch.channels_last)
            x.permute(0, 2, 3, 1).view(-1, x.shape[1]).index_fill_(0, outside, float("-inf"))
        x = max_pool_ceil(x, 2, 2)
        x = prelu(self.conv2(x), self.prelu2)
        x = prelu(self.conv3(x), self.prelu3)
        if is_exporting() or not x.is_contiguous(memory_format=torch.channels_last):
            return self.conv4_2(x), self.softmax4_1(self.conv4_1(x))
        return self.heads(x)

    def heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """conv4_1 and conv4_2 (1x1) as one [6, 32] x [32, pixels] product over channels-last x.

        ATen runs a 1x1 convolution over channels-last memory on its slow im2col path and a [pixels, 32] x
        [32, 6] product badly too; the transposed product writes each output channel as a plane, ~4x faster.
        """
        n, c, h, w = x.shape
        weight = torch.cat([self.conv4_1.weight, self.conv4_2.weight]).view(-1, c)
        bias = torch.cat([self.conv4_1.bias, self.conv4_2.bias]).unsqueeze(1)
        out = torch.addmm(bias, weight, x.permute(0, 2, 3, 1).reshape(-1, c).t())  # [6, N*h*w]
        out = out.view(-1, n, h, w).transpose(0, 1)
        return out[:, 2:], self.softmax4_1(out[:, :2])


class RNet(nn.Module):
    """Refinement network on 24x24 crops."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 28, kernel_size=3)
        self.prelu1 = nn.PReLU(28)
        self.conv2 = nn.Conv2d(28, 48, kernel_size=3)
        self.prelu2 = nn.PReLU(48)
        self.conv3 = nn.Conv2d(48, 64, kernel_size=2)
        self.prelu3 = nn.PReLU(64)
        self.dense4 = nn.Linear(576, 128)
        self.prelu4 = nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.softmax5_1 = nn.Softmax(dim=1)
        self.dense5_2 = nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(box regression [N,4], face probabilities [N,2])."""
        x = x.contiguous(memory_format=torch.channels_last)
        x = max_pool_ceil(prelu(self.conv1(x), self.prelu1), 3, 2)
        x = max_pool_ceil(prelu(self.conv2(x), self.prelu2), 3, 2)
        x = prelu(self.conv3(x), self.prelu3)
        x = x.permute(0, 3, 2, 1).contiguous()  # the Caffe original flattens in (w, h, c) order
        x = self.prelu4(self.dense4(x.view(x.shape[0], -1)))
        return self.dense5_2(x), self.softmax5_1(self.dense5_1(x))


class ONet(nn.Module):
    """Output network on 48x48 crops: box regression, 5 landmarks and the final face probability."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, kernel_size=3)
        self.prelu1 = nn.PReLU(32)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3)
        self.prelu2 = nn.PReLU(64)
        self.conv3 = nn.Conv2d(64, 64, kernel_size=3)
        self.prelu3 = nn.PReLU(64)
        self.conv4 = nn.Conv2d(64, 128, kernel_size=2)
        self.prelu4 = nn.PReLU(128)
        self.dense5 = nn.Linear(1152, 256)
        self.prelu5 = nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.softmax6_1 = nn.Softmax(dim=1)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(box regression [N,4], landmarks [N,10] as x1..x5, y1..y5 in crop units, probabilities [N,2])."""
        x = x.contiguous(memory_format=torch.channels_last)
        x = max_pool_ceil(prelu(self.conv1(x), self.prelu1), 3, 2)
        x = max_pool_ceil(prelu(self.conv2(x), self.prelu2), 3, 2)
        x = max_pool_ceil(prelu(self.conv3(x), self.prelu3), 2, 2)
        x = prelu(self.conv4(x), self.prelu4)
        x = x.permute(0, 3, 2, 1).contiguous()
        x = self.prelu5(self.dense5(x.view(x.shape[0], -1)))
        return self.dense6_2(x), self.dense6_3(x), self.softmax6_1(self.dense6_1(x))


class MTCNNNet(nn.Module):
    """The three stages in one module; its state_dict is the zoo's layout (pnet.*, rnet.*, onet.*)."""

    def __init__(self) -> None:
        super().__init__()
        self.pnet = PNet()
        self.rnet = RNet()
        self.onet = ONet()


# ---------------------------------------------------------------------------------------- geometry

def pyramid_scales(h: int, w: int, min_face_size: float = MIN_FACE_SIZE, factor: float = FACTOR) -> list[float]:
    """detect_face's scale list: 12/min_face_size, times `factor` while the shorter side stays >= 12."""
    m = PNET_CELL / min_face_size
    minl = min(h, w) * m
    scales = []
    scale = m
    while minl >= PNET_CELL:
        scales.append(scale)
        scale = scale * factor
        minl = minl * factor
    return scales


def pnet_out_size(n: int) -> int:
    """P-Net output length for an input length n (conv3, ceil-mode pool 2, conv3, conv3)."""
    return -(-(n - 2) // 2) - 4


def _even(n: int) -> int:
    return n + (n & 1)


def pack_levels(sizes: list[tuple[int, int]]) -> tuple[list[tuple[int, int]], tuple[int, int]]:
    """Pack level rectangles (largest first) at even offsets; returns offsets and the canvas (h, w).

    MaxRects bottom-left packing (each level goes where its bottom edge is highest, then leftmost, among
    the free rectangles, holes under wider levels included), trying canvas widths from one to two
    first-level widths and keeping the smallest canvas (the result is cached per image size). The
    pyramid's area is about twice the first level's; the canvas adds ~10% of gaps to it (a skyline
    packer, which cannot fill holes, left ~16%), and every pixel of the canvas costs P-Net work.
    """
    if not sizes:
        return [], (0, 0)
    evens = [(_even(h), _even(w)) for h, w in sizes]
    first = evens[0][1]
    best: tuple[int, list[tuple[int, int]], tuple[int, int]] | None = None
    for width in sorted({first + ((first * k // 32) & ~1) for k in range(33)}):  # W0 .. 2 W0, even steps
        offsets, canvas = _maxrects_pack(evens, width)
        area = canvas[0] * canvas[1]
        if best is None or area < best[0]:
            best = (area, offsets, canvas)
    assert best is not None
    return best[1], best[2]


def _maxrects_pack(sizes: list[tuple[int, int]], width: int) -> tuple[list[tuple[int, int]], tuple[int, int]]:
    free = [(0, 0, width, 1 << 40)]  # maximal free rectangles (x, y, w, h); the canvas grows downwards
    offsets = []
    for h, w in sizes:
        y, x = min((fy + h, fx) for fx, fy, fw, fh in free if fw >= w and fh >= h)
        y -= h
        offsets.append((y, x))
        split = []
        for fx, fy, fw, fh in free:  # cut the placed level out of every free rectangle it overlaps
            if x >= fx + fw or x + w <= fx or y >= fy + fh or y + h <= fy:
                split.append((fx, fy, fw, fh))
                continue
            if x > fx:
                split.append((fx, fy, x - fx, fh))
            if x + w < fx + fw:
                split.append((x + w, fy, fx + fw - x - w, fh))
            if y > fy:
                split.append((fx, fy, fw, y - fy))
            if y + h < fy + fh:
                split.append((fx, y + h, fw, fy + fh - y - h))
        split = list(dict.fromkeys(split))
        free = [r for r in split if not any(o != r and _contains(o, r) for o in split)]
    height = max(y + h for (y, _), (h, _) in zip(offsets, sizes))
    used = max(x + w for (_, x), (_, w) in zip(offsets, sizes))
    return offsets, (height, used)


def _contains(outer: tuple[int, int, int, int], inner: tuple[int, int, int, int]) -> bool:
    ox, oy, ow, oh = outer
    ix, iy, iw, ih = inner
    return ox <= ix and oy <= iy and ox + ow >= ix + iw and oy + oh >= iy + ih


def _area_index(start: torch.Tensor, length: torch.Tensor, out: int) -> tuple[torch.Tensor, torch.Tensor]:
    """ATen adaptive pooling windows: [start + floor(i*n/out), start + ceil((i+1)*n/out)) for i < out."""
    i = torch.arange(out, device=start.device)
    n = length.unsqueeze(-1)
    lo = start.unsqueeze(-1) + (i * n) // out
    hi = start.unsqueeze(-1) + ((i + 1) * n + out - 1) // out
    return lo, hi


@dataclass
class IntegralImage:
    """Summed-area table of an image: `table` is [(H+1) * (W+1) * C] flat, entry (y, x, c) at
    (y * (W+1) + x) * C + c, with a zero first row and column."""

    table: torch.Tensor
    h: int
    w: int
    c: int

    def corners(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Flat indices of entries (y, x) for every channel: shape of broadcast(y, x) + [C]."""
        ch = torch.arange(self.c, device=y.device)
        return (y * (self.w + 1) + x).unsqueeze(-1) * self.c + ch

    def window_means(self, r0: torch.Tensor, r1: torch.Tensor, c0: torch.Tensor, c1: torch.Tensor,
                     normalized: bool = False) -> torch.Tensor:
        """Means over rows [r0, r1) and columns [c0, c1) (broadcast together) -> [..., C] float32;
        `normalized`: as `normalize` gives them."""
        dtype = torch.int32 if self.table.numel() < 2**31 else torch.int64  # index_select takes both; int32 moves less
        rows = [(r * (self.w + 1)).to(dtype) for r in (r0, r1)]  # entry indices: a gather of C-value rows
        cols = [c.to(dtype) for c in (c0, c1)]
        idx = torch.empty((4, *torch.broadcast_shapes(rows[0].shape, cols[0].shape)), dtype=dtype, device=r0.device)
        for k, (r, c) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):  # corner order of `window_means`
            torch.add(rows[r], cols[c], out=idx[k])
        kh = (r1 - r0).float().unsqueeze(-1)
        kw = (c1 - c0).float().unsqueeze(-1)
        if normalized:
            kw /= PIXEL_SCALE
        # over the channels too: a divisor broadcast along the 3 channels is a 3-element inner loop in ATen
        kw = kw.expand(*kw.shape[:-1], self.c).contiguous()
        return window_means(self.table, idx, kh, kw, PIXEL_MEAN * PIXEL_SCALE if normalized else 0.0, self.c)


def integral_image(image: torch.Tensor) -> IntegralImage:
    """[C, H, W] pixels -> IntegralImage. uint8 pixels sum exactly in int32 (int64 past 8.4 megapixels),
    float pixels in float64."""
    c, h, w = image.shape
    if image.dtype.is_floating_point:
        dtype = torch.float64
    else:
        dtype = torch.int32 if h * w * 255 < 2**31 else torch.int64
    table = torch.zeros(h + 1, w + 1, c, dtype=dtype, device=image.device)
    torch.cumsum(image.permute(1, 2, 0).to(dtype), 1, out=table[1:, 1:])  # along x: stride C, which torch scans fast
    rows = table.view(h + 1, -1)
    if rows.device.type == "cpu":  # along y by doubling: torch's CPU cumsum over an outer dimension is slow
        spare = torch.empty_like(rows)
        k = 1
        while k <= h:  # ping-pong between two buffers: one pass per step, no copy of the overlapping rows
            spare[:k] = rows[:k]
            torch.add(rows[k:], rows[:-k], out=spare[k:])
            rows, spare = spare, rows
            k *= 2
    else:
        rows = rows.cumsum(0)
    return IntegralImage(rows.reshape(-1), h, w, c)


def window_means(table: torch.Tensor, idx: torch.Tensor, kh: torch.Tensor, kw: torch.Tensor, shift: float = 0.0,
                 channels: int | None = None) -> torch.Tensor:
    """Window sums from the four corner indices idx [4, ...] (r0c0, r0c1, r1c0, r1c1) -> `(sum / kh) / kw - shift`
    in float32. idx holds flat table indices ([4, ..., C]) or, with `channels`, entry indices whose C values are
    gathered as rows (ATen splits that gather over its threads; the flat one is faster on one thread).

    One flat gather (fast on CPU); `(sum / kh) / kw` in float32 is ATen's CPU adaptive_avg_pool2d arithmetic,
    and the integer sums are exact, so the means are bit-identical to interpolate(mode="area"). With kw / 2**-7
    and shift 127.5 * 2**-7 the result is `normalize(mean)` bit for bit, one pass shorter: dividing by 128 kw
    scales the rounded quotient by a power of two, and `(q - 127.5) * 2**-7` equals `q * 2**-7 - 127.5 * 2**-7`
    exactly (one rounding either way, of the same real number scaled by a power of two).
    """
    if channels is None:
        g = table.index_select(0, idx.reshape(-1)).view(idx.shape)
    else:
        g = table.view(-1, channels).index_select(0, idx.reshape(-1)).view(*idx.shape, channels)
    s = g[3] - g[1]
    s -= g[2]
    s += g[0]
    # int sums divide in float32 (an int tensor over a float one); float64 sums (float pixels) go to float32 first
    out = torch.div(s.float() if s.is_floating_point() else s, kh).div_(kw)
    return out.sub_(shift) if shift else out


@dataclass
class Pyramid:
    """Everything about one image size's pyramid that does not depend on the pixels (cached per size)."""

    scales: list[float]
    sizes: list[tuple[int, int]]  # (h, w) of each level: int(h * scale + 1), as detect_face
    offsets: list[tuple[int, int]]  # (y, x) of each level in the canvas, both even
    canvas: tuple[int, int]
    h: int
    w: int
    idx: torch.Tensor  # [4, Hc, Wc, 3] integral-image corners of every canvas pixel (gaps: all 0, an empty sum)
    kh: torch.Tensor  # [Hc, Wc, 3] window heights (gaps: 1)
    kw_scaled: torch.Tensor  # [Hc, Wc, 3] window widths / PIXEL_SCALE (gaps: 1), see window_means
    outside: torch.Tensor  # flat positions of the conv1 outputs just past each level's odd edges
    # per P-Net output cell of the canvas, flattened row-major ([Hc' * Wc']):
    cell_level: torch.Tensor  # level whose input the cell's window lies in, else -1
    cell_valid: torch.Tensor  # cell_level >= 0
    cell_y: torch.Tensor  # cell row / column within its level
    cell_x: torch.Tensor
    cell_order: torch.Tensor  # rank of the cell in detect_face's order (level, row, col)
    level_scale: torch.Tensor  # [L] float32

    def to(self, device: torch.device) -> Pyramid:
        return Pyramid(**{k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in vars(self).items()})


@functools.lru_cache(maxsize=4)  # a few image sizes: ~24 bytes per canvas pixel and channel (corners, divisors)
def _pyramid_cpu(h: int, w: int, min_face_size: float, factor: float) -> Pyramid:
    with torch.inference_mode(False):  # cached for later calls in any mode: no inference tensors
        return _build_pyramid(h, w, min_face_size, factor)


def _build_pyramid(h: int, w: int, min_face_size: float, factor: float) -> Pyramid:
    scales = pyramid_scales(h, w, min_face_size, factor)
    sizes = [(int(h * s + 1), int(w * s + 1)) for s in scales]
    offsets, (ch, cw) = pack_levels(sizes)
    geometry = IntegralImage(torch.zeros(0), h, w, 3)
    idx = torch.zeros(4, ch, cw, 3, dtype=torch.int64)
    kh = torch.ones(ch, cw, 3)  # materialised over the channels: see IntegralImage.window_means
    kw = torch.ones(ch, cw, 3)
    edge = torch.zeros(max(ch - 2, 0), max(cw - 2, 0), dtype=torch.bool)
    oh_c, ow_c = max(pnet_out_size(ch), 0), max(pnet_out_size(cw), 0)
    cell_level = torch.full((oh_c, ow_c), -1, dtype=torch.long)
    cell_y = torch.zeros_like(cell_level)
    cell_x = torch.zeros_like(cell_level)
    cell_order = torch.zeros_like(cell_level)
    base = 0
    zero = torch.tensor(0)
    for lvl, ((lh, lw), (oy, ox)) in enumerate(zip(sizes, offsets)):
        r0, r1 = (t[:, None] for t in _area_index(zero, torch.tensor(h), lh))
        c0, c1 = (t[None, :] for t in _area_index(zero, torch.tensor(w), lw))
        ys, xs = slice(oy, oy + lh), slice(ox, ox + lw)
        for k, (r, c) in enumerate(((r0, c0), (r0, c1), (r1, c0), (r1, c1))):
            idx[k, ys, xs] = geometry.corners(r, c)
        kh[ys, xs] = (r1 - r0).float()[..., None]
        kw[ys, xs] = (c1 - c0).float()[..., None] / PIXEL_SCALE
        rows, cols = lh - 2, lw - 2  # the level's conv1 outputs; its pooling windows cover them rounded up to even
        if rows % 2:
            edge[oy + rows, ox:ox + cols + cols % 2] = True
        if cols % 2:
            edge[oy:oy + rows + rows % 2, ox + cols] = True
        oh, ow = pnet_out_size(lh), pnet_out_size(lw)
        ys, xs = slice(oy // 2, oy // 2 + oh), slice(ox // 2, ox // 2 + ow)
        cell_level[ys, xs] = lvl
        cell_y[ys, xs] = torch.arange(oh)[:, None]
        cell_x[ys, xs] = torch.arange(ow)[None, :]
        cell_order[ys, xs] = base + torch.arange(oh * ow).view(oh, ow)
        base += oh * ow
    outside = edge.reshape(-1).nonzero()[:, 0]
    if (h + 1) * (w + 1) * 3 < 2**31:
        idx = idx.int()  # index_select takes int32 indices: half the cache
    return Pyramid(scales, sizes, offsets, (ch, cw), h, w, idx, kh, kw, outside, cell_level.view(-1),
                   cell_level.view(-1) >= 0, cell_y.view(-1), cell_x.view(-1), cell_order.view(-1),
                   torch.tensor(scales, dtype=torch.float32))


_DEVICE_PYRAMIDS: dict[tuple[int, int, float, float, str], Pyramid] = {}


def pyramid_for(h: int, w: int, min_face_size: float, factor: float, device: torch.device) -> Pyramid:
    pyr = _pyramid_cpu(h, w, float(min_face_size), float(factor))
    if device.type == "cpu":
        return pyr
    key = (h, w, float(min_face_size), float(factor), str(device))
    if key not in _DEVICE_PYRAMIDS:
        if len(_DEVICE_PYRAMIDS) >= 4:
            _DEVICE_PYRAMIDS.clear()
        with torch.inference_mode(False):
            _DEVICE_PYRAMIDS[key] = pyr.to(device)
    return _DEVICE_PYRAMIDS[key]


def area_crops(ii: IntegralImage, y0: torch.Tensor, y1: torch.Tensor, x0: torch.Tensor, x1: torch.Tensor,
               size: int, normalized: bool = False) -> torch.Tensor:
    """Crops [y0, y1) x [x0, x1), each area-resized to size x size: [K, 3, size, size] (channels-last
    memory), the same pixels as `interpolate(crop, (size, size), mode="area")` (`normalized`: and then
    `normalize`)."""
    r0, r1 = _area_index(y0, y1 - y0, size)
    c0, c1 = _area_index(x0, x1 - x0, size)
    out = ii.window_means(r0[:, :, None], r1[:, :, None], c0[:, None, :], c1[:, None, :], normalized)
    return out.permute(0, 3, 1, 2)


def packed_canvas(ii: IntegralImage, pyr: Pyramid) -> torch.Tensor:
    """All pyramid levels of one image, normalised, in one [1, 3, Hc, Wc] canvas (channels-last memory)."""
    canvas = window_means(ii.table, pyr.idx, pyr.kh, pyr.kw_scaled, PIXEL_MEAN * PIXEL_SCALE)  # [Hc, Wc, 3]
    return canvas.unsqueeze(0).permute(0, 3, 1, 2)


def normalize(x: torch.Tensor) -> torch.Tensor:
    """detect_face's (x - 127.5) * 0.0078125, in place on a fresh tensor."""
    return x.sub_(PIXEL_MEAN).mul_(PIXEL_SCALE)


# ---------------------------------------------------------------------------------------- box steps

def bbreg(boxes: torch.Tensor, reg: torch.Tensor) -> torch.Tensor:
    """detect_face.bbreg: shift box corners by the regression times the (+1) box size."""
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    return torch.stack([boxes[:, 0] + reg[:, 0] * w, boxes[:, 1] + reg[:, 1] * h,
                        boxes[:, 2] + reg[:, 2] * w, boxes[:, 3] + reg[:, 3] * h], dim=1)


def rerec(boxes: torch.Tensor) -> torch.Tensor:
    """detect_face.rerec: square each box on its longer side, keeping the centre."""
    h = boxes[:, 3] - boxes[:, 1]
    w = boxes[:, 2] - boxes[:, 0]
    side = torch.max(w, h)
    x1 = boxes[:, 0] + w * 0.5 - side * 0.5
    y1 = boxes[:, 1] + h * 0.5 - side * 0.5
    return torch.stack([x1, y1, x1 + side, y1 + side], dim=1)


def clip_windows(boxes: torch.Tensor, w: int, h: int) -> tuple[torch.Tensor, ...]:
    """detect_face.pad as crop windows: rows [y-1, ey), cols [x-1, ex) and whether each is non-empty."""
    b = boxes.trunc().int().long()
    x = b[:, 0].clamp(min=1)
    y = b[:, 1].clamp(min=1)
    ex = b[:, 2].clamp(max=w)
    ey = b[:, 3].clamp(max=h)
    ok = (ey > y - 1) & (ex > x - 1)
    return y - 1, ey, x - 1, ex, ok


def nms_min(boxes: torch.Tensor, scores: torch.Tensor, threshold: float) -> torch.Tensor:
    """detect_face.nms_numpy(..., 'Min'): greedy NMS on intersection over the smaller box (+1 pixel
    convention), best score first; returns kept indices in that order."""
    n = boxes.shape[0]
    if n == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    x1, y1, x2, y2 = boxes.unbind(1)
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    iw = (torch.min(x2[:, None], x2[None]) - torch.max(x1[:, None], x1[None]) + 1).clamp(min=0)
    ih = (torch.min(y2[:, None], y2[None]) - torch.max(y1[:, None], y1[None]) + 1).clamp(min=0)
    overlap = (iw * ih) / torch.min(area[:, None], area[None])
    order = scores.argsort(descending=True, stable=True)
    suppress = (overlap > threshold)[order][:, order].tolist()  # small: faces that reach O-Net
    alive = [True] * n
    keep = []
    for i in range(n):
        if alive[i]:
            keep.append(i)
            row = suppress[i]
            for j in range(i + 1, n):
                if row[j]:
                    alive[j] = False
    return order[torch.tensor(keep, dtype=torch.long, device=boxes.device)]


# ---------------------------------------------------------------------------------------- the cascade

@dataclass
class Faces:
    """One image's detections: boxes [N,4] xyxy, scores [N], landmarks [N,5,2] (x, y) in image pixels."""

    boxes: torch.Tensor
    scores: torch.Tensor
    landmarks: torch.Tensor

    @classmethod
    def empty(cls, device: torch.device) -> Faces:
        return cls(torch.zeros(0, 4, device=device), torch.zeros(0, device=device), torch.zeros(0, 5, 2, device=device))


def pnet_stage(net: MTCNNNet, ii: IntegralImage, min_face_size: float, factor: float, threshold: float
               ) -> torch.Tensor:
    """Stage 1 on one image [3,H,W]: candidate boxes [M, 9] (x1, y1, x2, y2, score, reg x4) after the
    per-scale NMS, in detect_face's order (by scale, then score)."""
    device = ii.table.device
    pyr = pyramid_for(ii.h, ii.w, min_face_size, factor, device)
    if not pyr.sizes:
        return torch.zeros(0, 9, device=device)
    reg, probs = net.pnet(packed_canvas(ii, pyr), pyr.outside)
    prob = probs[0, 1].reshape(-1)
    flat = ((prob >= threshold) & pyr.cell_valid).nonzero().squeeze(1)
    flat = flat[pyr.cell_order[flat].argsort()]  # detect_face's order: by level, then row-major within it
    cy, cx, level, score = pyr.cell_y[flat], pyr.cell_x[flat], pyr.cell_level[flat], prob[flat]
    regs = reg[0].reshape(4, -1)[:, flat].t()
    scale = pyr.level_scale[level]
    bb = torch.stack([cx, cy], dim=1).to(reg.dtype)
    q1 = ((PNET_STRIDE * bb + 1) / scale[:, None]).floor()
    q2 = ((PNET_STRIDE * bb + PNET_CELL - 1 + 1) / scale[:, None]).floor()
    boxes = torch.cat([q1, q2, score[:, None], regs], dim=1)
    if boxes.shape[0] == 0:
        return boxes
    # NMS within each scale: stage-1 corners are integers, so offsetting each level apart is exact
    offset = (level.to(boxes.dtype) * (boxes[:, :4].max() + 1))[:, None]
    keep = nms(boxes[:, :4] + offset, boxes[:, 4], PNET_NMS_PER_SCALE)
    keep = keep[level[keep].argsort(stable=True)]  # detect_face concatenates the scales' picks in scale order
    return boxes[keep]


@torch.inference_mode()  # the cascade is inference only: with grad enabled it would record every step
def detect_one(net: MTCNNNet, image: torch.Tensor, min_face_size: float = MIN_FACE_SIZE,
               thresholds: tuple[float, float, float] = THRESHOLDS, factor: float = FACTOR) -> Faces:
    """The MTCNN cascade on one image [3, H, W]: uint8 pixels, or floats in [0, 255]."""
    device = image.device
    _, h, w = image.shape
    ii = integral_image(image)
    boxes = pnet_stage(net, ii, min_face_size, factor, thresholds[0])
    if boxes.shape[0] == 0:
        return Faces.empty(device)
    boxes = boxes[nms(boxes[:, :4], boxes[:, 4], PNET_NMS)]
    regw = boxes[:, 2] - boxes[:, 0]
    regh = boxes[:, 3] - boxes[:, 1]
    boxes = rerec(torch.stack([boxes[:, 0] + boxes[:, 5] * regw, boxes[:, 1] + boxes[:, 6] * regh,
                               boxes[:, 2] + boxes[:, 7] * regw, boxes[:, 3] + boxes[:, 8] * regh], dim=1))

    # stage 2: R-Net on 24x24 crops
    y0, y1, x0, x1, ok = clip_windows(boxes, w, h)
    boxes = boxes[ok]
    if boxes.shape[0] == 0:
        return Faces.empty(device)
    crops = area_crops(ii, y0[ok], y1[ok], x0[ok], x1[ok], RNET_SIZE, normalized=True)
    reg, probs = net.rnet(crops)
    score = probs[:, 1]
    ipass = score > thresholds[1]
    boxes, score, reg = boxes[ipass], score[ipass], reg[ipass]
    keep = nms(boxes, score, RNET_NMS)
    boxes = rerec(bbreg(boxes[keep], reg[keep]))
    if boxes.shape[0] == 0:
        return Faces.empty(device)

    # stage 3: O-Net on 48x48 crops
    y0, y1, x0, x1, ok = clip_windows(boxes, w, h)
    boxes = boxes[ok]
    if boxes.shape[0] == 0:
        return Faces.empty(device)
    crops = area_crops(ii, y0[ok], y1[ok], x0[ok], x1[ok], ONET_SIZE, normalized=True)
    reg, points, probs = net.onet(crops)
    score = probs[:, 1]
    ipass = score > thresholds[2]
    boxes, score, reg, points = boxes[ipass], score[ipass], reg[ipass], points[ipass]
    w_i = (boxes[:, 2] - boxes[:, 0] + 1)[:, None]
    h_i = (boxes[:, 3] - boxes[:, 1] + 1)[:, None]
    px = w_i * points[:, :5] + boxes[:, 0:1] - 1
    py = h_i * points[:, 5:10] + boxes[:, 1:2] - 1
    landmarks = torch.stack([px, py], dim=2)
    boxes = bbreg(boxes, reg)
    keep = nms_min(boxes, score, ONET_NMS_MIN)
    # detect_face leaves regressed boxes past the image's edges; a box is a region of this image
    boxes = torch.stack([boxes[keep, 0].clamp(0, w), boxes[keep, 1].clamp(0, h),
                         boxes[keep, 2].clamp(0, w), boxes[keep, 3].clamp(0, h)], dim=1)
    return Faces(boxes, score[keep], landmarks[keep])


def pnet_levels(net: MTCNNNet, image: torch.Tensor, min_face_size: float = MIN_FACE_SIZE,
                factor: float = FACTOR) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """P-Net's (reg, probs) per pyramid level, cut out of the one packed run (tests compare per-level runs)."""
    _, h, w = image.shape
    pyr = pyramid_for(h, w, min_face_size, factor, image.device)
    reg, probs = net.pnet(packed_canvas(integral_image(image), pyr), pyr.outside)
    out = []
    for (lh, lw), (oy, ox) in zip(pyr.sizes, pyr.offsets):
        ys = slice(oy // 2, oy // 2 + pnet_out_size(lh))
        xs = slice(ox // 2, ox // 2 + pnet_out_size(lw))
        out.append((reg[:, :, ys, xs], probs[:, :, ys, xs]))
    return out


def level_images(image: torch.Tensor, min_face_size: float = MIN_FACE_SIZE, factor: float = FACTOR) -> list[torch.Tensor]:
    """Each pyramid level [1, 3, h, w], normalised, cut out of the packed canvas (tests compare interpolate)."""
    _, h, w = image.shape
    pyr = pyramid_for(h, w, min_face_size, factor, image.device)
    canvas = packed_canvas(integral_image(image), pyr)
    return [canvas[:, :, oy:oy + lh, ox:ox + lw] for (lh, lw), (oy, ox) in zip(pyr.sizes, pyr.offsets)]
