"""A preview sheet of a scene set for people (docs/variety-wide.png): the first scenes, small, each
captioned with its conditions, saved as a palette PNG so that it stays small enough for git."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

TILE = (320, 240)
CAPTION = 26


def caption(conditions: dict) -> tuple[str, str]:
    """Two short lines naming a scene's conditions."""
    c = conditions
    hand = (
        c["hand"]
        if c["hand"] == "none"
        else f"{c['hand']} over rods {','.join(map(str, c['hand_rods'])) or '-'}"
    )
    marker = f", markers {c['marker_px']:.0f} px" if c.get("marker_px") else ""
    first = f"hand {hand}; pitch {c['pitch_px']:.0f} px{marker}"
    second = f"{c['frame']} {c['back']}, {c['beads']} {c['bead_shape']}; {c['light']} light; {c['camera']}"
    return first, second


def scene_sheet(root: str | Path, manifest: dict, count: int = 8, columns: int = 2) -> Image.Image:
    """The first `count` scenes of `manifest` (in folder `root`), `columns` to a row, captioned."""
    root = Path(root)
    items = manifest["items"][:count]
    rows = -(-len(items) // columns)
    w, h = TILE
    sheet = Image.new("RGB", (columns * w, rows * (h + CAPTION)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for i, item in enumerate(items):
        x, y = (i % columns) * w, (i // columns) * (h + CAPTION)
        with Image.open(root / item["file"]) as im:
            sheet.paste(im.convert("RGB").resize(TILE, Image.LANCZOS), (x, y))
        for k, line in enumerate(caption(item["conditions"])):
            draw.text((x + 4, y + h + 1 + 12 * k), line, fill=(0, 0, 0))
    return sheet


def save_sheet(sheet: Image.Image, path: str | Path) -> Path:
    """As a 256-colour PNG: a photo sheet in full colour would be several times larger."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).save(
        path, optimize=True
    )
    return path
