"""Photo effects on numpy RGB arrays: OpenCV grading, vignette and blur; Wand seam carving.

Grades are per-channel tone curves baked into 256-entry LUTs once, so applying one is a single
cv2.LUT pass. Wand (ImageMagick's liquid rescale) is optional: where MagickWand cannot load,
the caller crops instead and the skip is recorded with its reason.
"""

from __future__ import annotations

import logging
from functools import cache, lru_cache
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

log = logging.getLogger(__name__)
Array = NDArray[Any]  # uint8 RGB; OpenCV's stubs type results loosely

_X = np.arange(256, dtype=np.float32) / 255


def _curve(gamma: float, lift: float = 0.0, gain: float = 1.0) -> NDArray[np.float32]:
    return np.clip(lift + (gain - lift) * _X**gamma, 0, 1).astype(np.float32)


def _s_curve(amount: float) -> NDArray[np.float32]:
    # A gentle contrast S around mid-grey (smoothstep blend).
    smooth = _X * _X * (3 - 2 * _X)
    return ((1 - amount) * _X + amount * smooth).astype(np.float32)


# Each look: (R, G, B) curves; "mono" first goes to luma, then tints slightly.
_LOOKS: dict[str, tuple[NDArray[np.float32], ...]] = {
    "warm": (_curve(0.90, 0.02, 1.0), _curve(0.97, 0.01, 0.98), _curve(1.10, 0.0, 0.90)),
    "cool": (_curve(1.08, 0.0, 0.92), _curve(1.0, 0.01, 0.98), _curve(0.90, 0.03, 1.0)),
    "mono": (_s_curve(0.35), _s_curve(0.35), _s_curve(0.35) * 0.96 + 0.02),
}
LOOKS = tuple(_LOOKS)


@cache
def _lut(look: str) -> Array:
    curves = _LOOKS[look]
    table = np.stack([np.round(c * 255) for c in curves], axis=-1)
    return table.reshape(256, 1, 3).astype(np.uint8)


def grade(rgb: Array, look: str) -> Array:
    """Apply a named look; KeyError for an unknown one (the caller decides what that means)."""
    if look not in _LOOKS:
        raise KeyError(look)
    if look == "mono":
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        rgb = cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)
    out: Array = cv2.LUT(rgb, _lut(look))
    return out


@lru_cache(maxsize=8)
def _vignette_mask(width: int, height: int, strength: float) -> Array:
    """Radial falloff as 0..255 weights, 3-channel, so applying it is one cv2.multiply."""
    xs = np.linspace(-1, 1, width, dtype=np.float32)
    ys = np.linspace(-1, 1, height, dtype=np.float32)
    r2 = xs[None, :] ** 2 + ys[:, None] ** 2
    weight = 1 - strength * np.clip(r2 / 2, 0, 1) ** 1.5
    mask = np.round(weight * 255).astype(np.uint8)
    return cv2.merge([mask, mask, mask])


def vignette(rgb: Array, strength: float = 0.35) -> Array:
    h, w = rgb.shape[:2]
    out: Array = cv2.multiply(rgb, _vignette_mask(w, h, strength), scale=1 / 255)
    return out


def blur_below(rgb: Array, top: int, sigma: float = 12.0, feather: int = 48) -> Array:
    """Blur the rows from `top` down (under the text), feathered in over `feather` rows.

    Blurred at quarter size and scaled back: same look as a wide kernel, a fraction of the cost.
    """
    h, w = rgb.shape[:2]
    start = max(0, top - feather)
    if start >= h:
        return rgb
    region = rgb[start:]
    small = cv2.resize(
        region, (max(1, w // 4), max(1, (h - start) // 4)), interpolation=cv2.INTER_AREA
    )
    small = cv2.GaussianBlur(small, (0, 0), sigma / 4)
    blurred = cv2.resize(small, (w, h - start), interpolation=cv2.INTER_LINEAR)
    rows = top - start
    if rows > 0:  # only the feather rows need a float blend
        ramp = np.linspace(0, 1, rows, dtype=np.float32)[:, None, None]
        mixed = region[:rows] * (1 - ramp) + blurred[:rows] * ramp
        blurred[:rows] = mixed.astype(np.uint8)
    out = rgb.copy()
    out[start:] = blurred
    return out


def darken_below(rgb: Array, top: int, text_top: int, alpha: float) -> Array:
    """A bottom scrim: black, from 0 at `top` to `alpha` at `text_top`, `alpha` below it."""
    h = rgb.shape[0]
    weights = np.ones(h, dtype=np.float32)
    top, text_top = max(0, top), max(top + 1, text_top)
    ramp_end = min(h, text_top)
    weights[top:ramp_end] = 1 - alpha * np.linspace(0, 1, text_top - top)[: ramp_end - top]
    weights[ramp_end:] = 1 - alpha
    column = np.round(weights * 255).astype(np.uint8)
    mask = np.broadcast_to(column[:, None, None], rgb.shape)
    out: Array = cv2.multiply(rgb, np.ascontiguousarray(mask), scale=1 / 255)
    return out


@cache
def wand_status() -> str | None:
    """None when Wand's liquid rescale can run, else why not (checked once)."""
    try:
        from wand.image import Image as WandImage  # loads MagickWand: ImportError if absent
        from wand.version import configure_options

        delegates = str(configure_options("DELEGATES").get("DELEGATES", ""))
    except Exception as exc:  # ImportError, or OSError from the C library's loader
        return f"{type(exc).__name__}: {exc}".splitlines()[0][:120]
    if "lqr" not in delegates.split():
        return "ImageMagick built without liblqr"
    del WandImage
    return None


def liquid_rescale(rgb: Array, width: int, height: int) -> Array:
    """Content-aware resize (seam carving) with ImageMagick; RuntimeError when unavailable."""
    reason = wand_status()
    if reason is not None:
        raise RuntimeError(reason)
    from wand.image import Image as WandImage

    with WandImage.from_array(np.ascontiguousarray(rgb)) as img:
        img.liquid_rescale(width, height)
        out = np.asarray(img, dtype=np.uint8)
    return np.ascontiguousarray(out[:, :, :3])
