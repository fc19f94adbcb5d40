"""Draw the integration's brand images: a usage gauge, the project's own mark.

    .venv/bin/python scripts/draw_brand.py [OUTPUT FOLDER]

Writes icon.png (256 px), icon@2x.png (512 px), logo.png (128 px high), logo@2x.png (256 px
high) and a dark_ variant of each into custom_components/claude_usage/brand/ (or the folder
given). The mark is a three-quarter ring, filled about two thirds of the way, with a needle:
nothing of Anthropic's or Claude's artwork. Change the constants below and run it again.

Shapes are drawn at four times the size and scaled down, which gives smooth edges without an
anti-aliasing renderer; the wordmark uses the font that comes with Pillow, so every machine
draws the same picture.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from pathlib import Path
import sys

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
BRAND = ROOT / "custom_components" / "claude_usage" / "brand"
SUPERSAMPLE = 4
WORDMARK = "Claude Usage"

SWEEP_START = 135.0  # degrees, clockwise from 3 o'clock: the ring opens at the bottom
SWEEP = 270.0
FILLED = 0.64  # share of the ring that is filled


@dataclass(frozen=True)
class Palette:
    """Colours for a light or a dark background."""

    track: tuple[int, int, int, int]
    fill: tuple[int, int, int, int]
    tip: tuple[int, int, int, int]
    needle: tuple[int, int, int, int]
    text: tuple[int, int, int, int]


LIGHT = Palette(
    track=(213, 220, 227, 255),
    fill=(14, 154, 167, 255),
    tip=(245, 166, 35, 255),
    needle=(38, 50, 56, 255),
    text=(38, 50, 56, 255),
)
DARK = Palette(
    track=(62, 75, 86, 255),
    fill=(38, 198, 210, 255),
    tip=(255, 193, 7, 255),
    needle=(236, 239, 241, 255),
    text=(236, 239, 241, 255),
)


def _point(cx: float, cy: float, radius: float, degrees: float) -> tuple[float, float]:
    angle = math.radians(degrees)
    return cx + radius * math.cos(angle), cy + radius * math.sin(angle)


def _dot(
    draw: ImageDraw.ImageDraw,
    center: tuple[float, float],
    radius: float,
    colour: tuple[int, int, int, int],
) -> None:
    x, y = center
    draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)


def _gauge(size: int, palette: Palette) -> Image.Image:
    """The mark on a transparent square of ``size`` pixels (already supersampled)."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    width = size * 0.15
    radius = size / 2 - width / 2 - size * 0.02  # to the middle of the ring
    cx, cy = size / 2, size * 0.52
    box = (
        cx - radius - width / 2,
        cy - radius - width / 2,
        cx + radius + width / 2,
        cy + radius + width / 2,
    )
    end = SWEEP_START + SWEEP
    filled_end = SWEEP_START + SWEEP * FILLED
    tip_start = filled_end - SWEEP * 0.08

    draw.arc(box, SWEEP_START, end, fill=palette.track, width=round(width))
    _dot(draw, _point(cx, cy, radius, end), width / 2, palette.track)
    draw.arc(box, SWEEP_START, tip_start, fill=palette.fill, width=round(width))
    _dot(draw, _point(cx, cy, radius, SWEEP_START), width / 2, palette.fill)
    draw.arc(box, tip_start, filled_end, fill=palette.tip, width=round(width))
    _dot(draw, _point(cx, cy, radius, filled_end), width / 2, palette.tip)

    # The needle points at the end of the filled part; a hub covers its root.
    needle_end = _point(cx, cy, radius - width * 0.9, filled_end)
    draw.line((cx, cy, *needle_end), fill=palette.needle, width=round(size * 0.055))
    _dot(draw, needle_end, size * 0.0275, palette.needle)
    _dot(draw, (cx, cy), size * 0.075, palette.needle)
    return image


def _trimmed(image: Image.Image) -> Image.Image:
    box = image.getchannel("A").getbbox()
    assert box is not None, "nothing drawn"
    return image.crop(box)


def icon(pixels: int, palette: Palette) -> Image.Image:
    """The square icon, ``pixels`` wide."""
    big = _trimmed(_gauge(pixels * SUPERSAMPLE, palette))
    side = max(big.size)
    square = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    square.paste(big, ((side - big.width) // 2, (side - big.height) // 2))
    return square.resize((pixels, pixels), Image.Resampling.LANCZOS)


def logo(height: int, palette: Palette) -> Image.Image:
    """The mark and the wordmark side by side, ``height`` pixels high."""
    big_height = height * SUPERSAMPLE
    mark = _trimmed(_gauge(big_height, palette))
    mark = mark.resize(
        (round(mark.width * big_height / mark.height), big_height), Image.Resampling.LANCZOS
    )
    font = ImageFont.load_default(size=round(big_height * 0.5))
    left, top, right, bottom = font.getbbox(WORDMARK, stroke_width=round(big_height * 0.012))
    gap = round(big_height * 0.18)
    canvas = Image.new("RGBA", (mark.width + gap + right - left, big_height), (0, 0, 0, 0))
    canvas.paste(mark, (0, 0))
    draw = ImageDraw.Draw(canvas)
    draw.text(
        (mark.width + gap - left, (big_height - (bottom - top)) / 2 - top),
        WORDMARK,
        font=font,
        fill=palette.text,
        stroke_width=round(big_height * 0.012),
        stroke_fill=palette.text,
    )
    canvas = _trimmed(canvas)
    width = round(canvas.width * height / canvas.height)
    return canvas.resize((width, height), Image.Resampling.LANCZOS)


def draw_all(folder: Path) -> list[Path]:
    """Write every brand image into ``folder``; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for prefix, palette in (("", LIGHT), ("dark_", DARK)):
        # The 1x logo is the 2x one halved, so the two have exactly the same proportions.
        logo_2x = logo(256, palette)
        logo_1x = logo_2x.resize((logo_2x.width // 2, 128), Image.Resampling.LANCZOS)
        for name, image in (
            ("icon.png", icon(256, palette)),
            ("icon@2x.png", icon(512, palette)),
            ("logo.png", logo_1x),
            ("logo@2x.png", logo_2x.crop((0, 0, logo_1x.width * 2, 256))),
        ):
            path = folder / f"{prefix}{name}"
            image.save(path, optimize=True)
            written.append(path)
    return written


if __name__ == "__main__":
    for path in draw_all(Path(sys.argv[1]) if len(sys.argv) > 1 else BRAND):
        print(path)
