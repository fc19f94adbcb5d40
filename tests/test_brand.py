"""The brand images: the sizes Home Assistant's brand rules ask for, and what the script draws."""

from __future__ import annotations

from pathlib import Path
import runpy

from PIL import Image, ImageChops, ImageStat
import pytest

ROOT = Path(__file__).resolve().parents[1]
BRAND = ROOT / "custom_components" / "claude_usage" / "brand"
ICONS = {"icon.png": 256, "icon@2x.png": 512}
LOGOS = {"logo.png": 128, "logo@2x.png": 256}
FILES = sorted(f"{prefix}{name}" for prefix in ("", "dark_") for name in ICONS | LOGOS)


def _open(path: Path) -> Image.Image:
    with Image.open(path) as image:
        assert image.format == "PNG", path.name
        image.load()
        return image


def test_no_other_files() -> None:
    """Exactly the eight images: light and dark icon and logo, each at 1x and 2x."""
    assert sorted(path.name for path in BRAND.iterdir()) == FILES


@pytest.mark.parametrize("name", FILES)
def test_size_and_transparency(name: str) -> None:
    """Icons are square at 256 and 512 px; logos are landscape, 128 and 256 px high."""
    image = _open(BRAND / name)
    assert image.mode == "RGBA", name
    plain = name.removeprefix("dark_")
    if plain in ICONS:
        assert image.size == (ICONS[plain], ICONS[plain])
    else:
        assert image.height == LOGOS[plain]
        assert image.width > image.height
    alpha = image.getchannel("A")
    assert alpha.getpixel((0, 0)) == 0, "the background is transparent"
    assert alpha.getbbox() == (0, 0, *image.size) or plain in ICONS, "logos are trimmed"
    opaque = sum(alpha.histogram()[200:])
    assert opaque > image.width * image.height // 10, "the mark fills a good part"


@pytest.mark.parametrize("prefix", ["", "dark_"])
def test_logo_2x_is_twice_logo(prefix: str) -> None:
    """The 2x logo has the 1x logo's proportions exactly."""
    small = _open(BRAND / f"{prefix}logo.png")
    large = _open(BRAND / f"{prefix}logo@2x.png")
    assert large.size == (small.width * 2, small.height * 2)


def test_dark_variants_differ() -> None:
    """The dark variants are drawn for a dark background, not copies."""
    for name in ICONS | LOGOS:
        light, dark = _open(BRAND / name), _open(BRAND / f"dark_{name}")
        assert light.size == dark.size
        assert light.tobytes() != dark.tobytes(), name


def test_script_draws_these_images(tmp_path: Path) -> None:
    """scripts/draw_brand.py draws the committed images (within rounding of Pillow versions)."""
    draw_all = runpy.run_path(str(ROOT / "scripts" / "draw_brand.py"))["draw_all"]
    written = draw_all(tmp_path)
    assert sorted(path.name for path in written) == FILES
    for name in FILES:
        drawn, committed = _open(tmp_path / name), _open(BRAND / name)
        assert drawn.size == committed.size, name
        difference = ImageStat.Stat(ImageChops.difference(drawn, committed)).mean
        assert max(difference) < 1.0, (name, difference)
