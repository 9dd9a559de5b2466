"""A contact sheet of every template in every format, from the example briefs.

Usage: .venv/bin/python -m briefcast.gallery [--out docs/gallery.png]

Photos are synthetic (seeded numpy), so the sheet is reproducible offline.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from briefcast.pipeline.render.fonts import load_font
from briefcast.pipeline.render.kit import FORMATS, TEMPLATES, BrandKit, CardContent
from briefcast.pipeline.render.templates import render_card

ROOT = Path(__file__).resolve().parents[1]
TILE = 360
LABEL = 28
GRADES = ("warm", "cool", "mono")


def synthetic_photo(width: int, height: int, seed: int = 0) -> Image.Image:
    """A photo-like test image: sky gradient, hills, a bright sun and some grain."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    flat = np.zeros((height, width), dtype=np.float32)
    sky = np.stack([flat + 120 + 100 * y, flat + 160 + 60 * y, flat + 230 - 40 * y], axis=-1)
    phase = rng.uniform(0, 6.28)
    ridge = 0.55 + 0.08 * np.sin(x * 9 + phase) + 0.04 * np.sin(x * 23)
    hills = y > ridge
    sky[np.broadcast_to(hills, sky.shape[:2])] = (60, 110, 50)
    cx, cy = rng.uniform(0.2, 0.8), rng.uniform(0.15, 0.35)
    sun = ((x - cx) ** 2 * (width / height) ** 2 + (y - cy) ** 2) < 0.004
    sky[np.broadcast_to(sun, sky.shape[:2])] = (255, 244, 200)
    grain = rng.normal(0, 6, sky.shape[:2])[..., None]
    return Image.fromarray(np.clip(sky + grain, 0, 255).astype(np.uint8), "RGB")


def _briefs() -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in sorted((ROOT / "examples").glob("*.json"))]


def build(out: Path) -> Path:
    briefs = _briefs()
    formats = list(FORMATS.values())
    cols = len(formats) * len(TEMPLATES)
    tile_h = max(round(TILE * f.height / f.width) for f in formats) + LABEL
    sheet = Image.new("RGB", (cols * TILE, len(briefs) * tile_h), (250, 250, 250))
    pen = ImageDraw.Draw(sheet)
    font = load_font("dejavu-sans", "regular", 14)
    for row, brief in enumerate(briefs):
        key_points = brief.get("key_points", [])
        assert isinstance(key_points, list)  # examples/*.json: a list, as the API takes it
        points = [str(p) for p in key_points]
        color = str(brief.get("brand_color", "#1F4E79"))
        kit = BrandKit(
            primary_color=color,
            font="dejavu-serif" if row % 2 else "dejavu-sans",
            grade=GRADES[row % len(GRADES)],
        )
        content = CardContent(
            headline=str(brief["topic"]),
            quote=points[0] if points else None,
            attribution="\u2014 the team" if points else None,
        )
        photo = synthetic_photo(2000, 1500, seed=row)
        col = 0
        for template in TEMPLATES:
            for fmt in formats:
                card = render_card(template, fmt, content, kit, photo)
                thumb = Image.open(io.BytesIO(card.data)).convert("RGB")
                thumb.thumbnail((TILE - 8, tile_h - LABEL))
                x, y = col * TILE, row * tile_h
                sheet.paste(thumb, (x + 4, y + LABEL))
                pen.text((x + 4, y + 6), f"{template} / {fmt.name}", font=font, fill=(40, 40, 40))
                print(f"  {brief['topic']!s:.30} {template} {fmt.name}: {len(card.data)} bytes")
                col += 1
    out.parent.mkdir(parents=True, exist_ok=True)
    # An adaptive 256-colour palette keeps the sheet a fraction of the truecolour size.
    sheet.quantize(256, method=Image.Quantize.MEDIANCUT).save(out, format="PNG", optimize=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the template contact sheet.")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "gallery.png")
    args = parser.parse_args(argv)
    path = build(args.out)
    print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
