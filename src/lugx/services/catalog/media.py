"""Generated artwork: a gradient and the title, deterministic per game, as SVG."""

from __future__ import annotations

import hashlib
from html import escape

WIDTH, HEIGHT = 460, 215


def _colour(seed: bytes, offset: int) -> str:
    hue = (seed[offset] * 360) // 256
    return f"hsl({hue}, 55%, {28 + seed[offset + 1] % 18}%)"


def _lines(title: str, width: int = 22) -> list[str]:
    words, lines, line = title.split(), [], ""
    for word in words:
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return lines[:3]


def svg_image(title: str, app_id: int, variant: int = 0) -> bytes:
    seed = hashlib.sha256(f"{app_id}:{variant}".encode()).digest()
    start, end = _colour(seed, 0), _colour(seed, 2)
    lines = _lines(title)
    top = HEIGHT / 2 - (len(lines) - 1) * 17
    text = "".join(
        f'<text x="24" y="{top + i * 34:.0f}" font-size="28" font-weight="700">'
        f"{escape(line)}</text>"
        for i, line in enumerate(lines)
    )
    label = (
        ""
        if variant == 0
        else f'<text x="24" y="200" font-size="14" opacity=".7">Screenshot {variant}</text>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">'
        f'<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="{start}"/><stop offset="1" stop-color="{end}"/>'
        f"</linearGradient></defs>"
        f'<rect width="100%" height="100%" fill="url(#g)"/>'
        f'<g fill="#fff" font-family="system-ui, sans-serif">{text}{label}</g></svg>'
    ).encode()
