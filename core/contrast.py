"""WCAG 2 contrast: pick black or white text for a background colour a merchant chose."""

import re

HEX_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
BLACK, WHITE = "#000000", "#FFFFFF"


def relative_luminance(color: str) -> float:
    """Return the WCAG relative luminance of ``#RRGGBB`` (0 black … 1 white)."""
    channels = []
    for start in (1, 3, 5):
        value = int(color[start : start + 2], 16) / 255
        channels.append(value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    """Return the WCAG contrast ratio of two ``#RRGGBB`` colours (1 … 21)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_color_on(background: str) -> str:
    """Return black or white, whichever contrasts more with background (always >= 4.58:1)."""
    if not HEX_COLOR.fullmatch(background or ""):
        return BLACK
    return BLACK if contrast_ratio(background, BLACK) >= contrast_ratio(background, WHITE) else WHITE
