"""The colours of the plots and the banner, and the contrast rule they are held to. No Qt.

Text must be readable on its background by someone with low vision, on a ward monitor turned down:
WCAG 2.x asks for a contrast ratio of at least 4.5:1 for normal text (``MIN_TEXT_CONTRAST``). The ratio
is computed here from the colours themselves (``contrast_ratio``), so a colour changed later is checked
by the tests rather than by eye. pyqtgraph's default axis grey (#969696) on white is about 3:1.
"""

from __future__ import annotations

MIN_TEXT_CONTRAST = 4.5

PLOT_BACKGROUND = "#ffffff"
PLOT_TEXT = "#3c3c3c"
"""Axes, tick labels and axis titles."""
CURRENT_LINE = "#6e6e6e"
"""The program the pump runs now: grey and dashed; its marker labels are written in it too."""
PROPOSED_LINE = "#005ac8"
THRESHOLD_LINE = "#be7800"
"""A dotted line only (no text), kept amber like the banner's warnings; non-text needs 3:1."""
THRESHOLD_TEXT = "#965a00"
GRID_LINE = "#cecece"
"""The grid: the axis colour at a quarter strength on the white, as pyqtgraph's translucent grid looked, but
opaque and drawn under the curves. A translucent line across the plot costs a blend of every pixel it covers,
at each repaint; the grid carries no reading of its own (the tick labels do), so it needs no contrast."""
MIN_LINE_CONTRAST = 3.0
"""WCAG 2.1's minimum for graphical objects (1.4.11), which the lines are."""

BANNER = {
    "ok": ("#e6f4ea", "#1e6b34"),
    "info": ("#e8f0fe", "#1a4d8f"),
    "warning": ("#fff4e0", "#8a5a00"),
    "error": ("#fde8e8", "#a00000"),
}
"""Each banner kind's (background, text and border) colours."""


def rgb(colour: str) -> tuple[int, int, int]:
    """'#3c3c3c' as (60, 60, 60)."""
    if len(colour) != 7 or colour[0] != "#":
        raise ValueError(f"not a #rrggbb colour: {colour!r}")
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance: 0 for black, 1 for white (sRGB channels linearised, then weighted)."""
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(channel) for channel in rgb(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio of two colours, from 1 (the same) to 21 (black on white), in either order."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)
