"""Colour arithmetic for accent colours ("#rrggbb"): WCAG 2 contrast, and shades that keep it.

Used by the site's own accent (app/web/site_identity.py) and by the partners' widgets
(app/syndication/embed.py); it knows nothing of either.
"""

from __future__ import annotations

import re

WHITE = "#ffffff"
_HEX = re.compile(r"#[0-9a-fA-F]{6}")


def is_hex_colour(raw: str) -> bool:
    return bool(_HEX.fullmatch(raw))


def _rgb(colour: str) -> tuple[int, int, int]:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return r, g, b


def _channel(value: int) -> float:
    scaled = value / 255
    return scaled / 12.92 if scaled <= 0.03928 else ((scaled + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    r, g, b = _rgb(colour)
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two "#rrggbb" colours."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def scale(colour: str, k: float) -> str:
    """The colour with each channel multiplied by `k` (below 1: darker, same hue)."""
    return "#" + "".join(f"{round(c * k):02x}" for c in _rgb(colour))


def mix_with_white(colour: str, share: float) -> str:
    """`share` of the colour over white (0.1: a light tint)."""
    return "#" + "".join(f"{round(255 - (255 - c) * share):02x}" for c in _rgb(colour))


def darken_for(colour: str, background: str = WHITE, ratio: float = 4.5) -> str:
    """The colour itself if it reads on `background`, else the same hue darkened until it does
    (black at worst, which always reads on a light background)."""
    for step in range(0, 101):
        candidate = scale(colour, 1 - step / 100)
        if contrast(candidate, background) >= ratio:
            return candidate
    return "#000000"


def readable_on(colour: str) -> str:
    """Black or white, whichever reads better on `colour` (one of them is always ≥ 4.5:1)."""
    return "#000000" if contrast("#000000", colour) >= contrast(WHITE, colour) else WHITE
