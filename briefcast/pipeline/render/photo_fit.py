"""Fitting a photo to a format: cover-crop, or content-aware (seam carving) when far off.

A 4:3 photo in a 4:5 frame loses 40% of its width to a crop, often the people at the edges.
Liquid rescale removes low-energy seams instead, keeping them. Seam carving costs grow with
seams x pixels (about 370 ms for 360 seams on a 900x675 image here), so it runs on a reduced
working copy and only for the part of the gap beyond what a crop would take unnoticed.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np
from PIL import Image

from briefcast.pipeline.render import effects

log = logging.getLogger(__name__)
LQR_MIN_RATIO = 1.3  # aspect ratios within 30% of the target: a crop loses little, just crop
LQR_SHARE = 0.2  # seam carving removes at most this share of the long dimension
LQR_WORK_PIXELS = 12_000  # seams are found at about this size, then applied at full size


def _pil_crop(photo: Image.Image, aspect: float) -> Image.Image:
    """Centre crop in Pillow, before the (copying) conversion to an array."""
    w, h = photo.size
    if w / h > aspect:
        new_w = max(1, round(h * aspect))
        return photo.crop(((w - new_w) // 2, 0, (w - new_w) // 2 + new_w, h))
    new_h = max(1, round(w / aspect))
    return photo.crop((0, (h - new_h) // 2, w, (h - new_h) // 2 + new_h))


def _resize(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    # Area averaging only pays off when shrinking a lot; linear is 10x faster and as good
    # for gentle shrinks; cubic for enlarging.
    factor = min(rgb.shape[1] / width, rgb.shape[0] / height)
    interpolation = (
        cv2.INTER_AREA if factor >= 2 else cv2.INTER_LINEAR if factor >= 1 else cv2.INTER_CUBIC
    )
    out: np.ndarray = cv2.resize(rgb, (width, height), interpolation=interpolation)
    return out


def cover(photo: Image.Image, width: int, height: int, applied: list[str]) -> np.ndarray:
    """The photo as a width x height RGB array; what was done goes into `applied`."""
    photo = photo if photo.mode == "RGB" else photo.convert("RGB")
    w, h = photo.size
    target, source = width / height, w / h
    ratio = max(target / source, source / target)
    if ratio < LQR_MIN_RATIO:
        applied.append("crop:cover")
        return _resize(np.asarray(_pil_crop(photo, target)), width, height)
    reason = effects.wand_status()
    if reason is not None:
        log.warning("wand unavailable, cropping instead of liquid rescale: %s", reason)
        applied.extend([f"wand:skipped ({reason})", "crop:cover"])
        return _resize(np.asarray(_pil_crop(photo, target)), width, height)
    # Crop the part of the gap the carver does not take; find seams on a small copy, then
    # remove the same seams, scaled up, from the full-size image: sharp, at a fraction of the cost.
    wide = source > target
    carve_aspect = target / (1 - LQR_SHARE) if wide else target * (1 - LQR_SHARE)
    carve_aspect = min(carve_aspect, source) if wide else max(carve_aspect, source)
    cropped = np.asarray(_pil_crop(photo, carve_aspect))
    try:
        out = _carve(cropped, width, height, wide)
    except Exception as exc:  # a MagickWand failure at run time: degrade, do not fail
        log.warning("liquid rescale failed, cropping instead: %s", exc)
        applied.extend([f"wand:skipped ({type(exc).__name__})", "crop:cover"])
        return _resize(np.asarray(_pil_crop(photo, target)), width, height)
    applied.append("wand:liquid_rescale")
    return out


def _seams(small: np.ndarray, work_w: int) -> np.ndarray:
    """For each pixel of `small` carved to work_w columns, the column it came from."""
    src_w = small.shape[1]
    # Tag each pixel with its column (mod 64) in the 2 low bits of each channel: invisible to
    # the carver's energy, and it says which columns survived, since carving only drops pixels.
    columns = np.arange(src_w, dtype=np.uint8) % 64
    tags = np.stack([columns & 3, (columns >> 2) & 3, (columns >> 4) & 3], axis=-1)
    tagged = (small & 0xFC) | tags[None, :, :]
    carved = effects.liquid_rescale(tagged, work_w, small.shape[0])
    code = (carved[..., 0] & 3) | ((carved[..., 1] & 3) << 2) | ((carved[..., 2] & 3) << 4)
    j = np.arange(work_w)
    kept = j + (code.astype(np.int64) - j) % 64
    if src_w - work_w >= 64 or not np.array_equal(
        np.take_along_axis(tagged, kept[..., None], axis=1), carved
    ):
        raise RuntimeError("could not trace the seams")
    return kept


def _carve(rgb: np.ndarray, width: int, height: int, wide: bool) -> np.ndarray:
    """rgb (too wide, or too tall when not `wide`) to width x height by seam carving."""
    if not wide:  # carve rows as columns of the transposed image; only small arrays transpose
        width, height = height, width
    src_h, src_w = rgb.shape[:2] if wide else rgb.shape[1::-1]
    scale = max(1.0, (width * height / LQR_WORK_PIXELS) ** 0.5)
    work_w, work_h = max(8, round(width / scale)), max(8, round(height / scale))
    small_w = max(work_w + 1, round(work_h * src_w / src_h))
    step = max(1, int(min(src_h / work_h, src_w / small_w) / 2))  # cheap decimation first
    view = rgb[::step, ::step] if wide else rgb[::step, ::step].transpose(1, 0, 2)
    small = _resize(np.ascontiguousarray(view), small_w, work_h)
    kept = _seams(small, work_w).astype(np.float32)
    # Full-size maps: each output pixel reads the column its working-copy column came from
    # (plus its offset within that column), in a copy scaled so rows map one to one.
    big_w = round(small_w * width / work_w)
    u = np.arange(width, dtype=np.float32) * (work_w / width)
    c_small = np.minimum(u.astype(np.int64), work_w - 1)
    r_small = np.minimum((np.arange(height) * work_h) // height, work_h - 1)
    frac = (u - c_small).astype(np.float32)
    map_x = (kept[r_small][:, c_small] + frac) * np.float32(big_w / small_w)
    map_y = np.broadcast_to(np.arange(height, dtype=np.float32)[:, None], (height, width))
    if wide:
        big = _resize(rgb, big_w, height)
        maps = (map_x, np.ascontiguousarray(map_y))
    else:
        big = _resize(rgb, height, big_w)
        maps = (np.ascontiguousarray(map_y.T), np.ascontiguousarray(map_x.T))
    out: np.ndarray = cv2.remap(big, *maps, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
    return out
