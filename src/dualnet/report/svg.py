"""Building SVG with the standard library's ElementTree: every attribute and text is escaped by
the serializer, so names read from a node (netdevs, hostnames, findings) cannot break the page.

Styling is by class only (the page's stylesheet colours them): no `style=` attributes, so the
page's Content-Security-Policy needs no 'unsafe-inline' for styles.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

SVG_NS = "http://www.w3.org/2000/svg"

# Monospace text at the page's 12px: the advance width Chromium, Firefox and DejaVu Sans Mono
# agree on closely enough to size boxes (0.6 em).
CHAR_W = 7.2
LINE_H = 16.0


def svg(width: float, height: float, *, cls: str, label: str, **attrs: str) -> ET.Element:
    root = ET.Element("svg", {
        "xmlns": SVG_NS, "class": cls, "role": "img", "aria-label": label,
        "viewBox": f"0 0 {_n(width)} {_n(height)}", "width": _n(width), "height": _n(height),
        **{k.replace("_", "-"): v for k, v in attrs.items()},
    })
    ET.SubElement(root, "title").text = label
    return root


def el(parent: ET.Element, tag: str, text: str | None = None, /, **attrs: str | float) -> (
        ET.Element):
    """A child element; `cls` stands for `class`, `data_x` for `data-x`, numbers are rounded."""
    out: dict[str, str] = {}
    for key, value in attrs.items():
        name = "class" if key == "cls" else key.replace("_", "-")
        out[name] = _n(value) if isinstance(value, float | int) else value
    child = ET.SubElement(parent, tag, out)
    if text is not None:
        child.text = text
    return child


def tooltip(parent: ET.Element, text: str) -> None:
    """A native tooltip (SVG <title>), also what screen readers announce."""
    ET.SubElement(parent, "title").text = text


def to_string(root: ET.Element) -> str:
    return ET.tostring(root, encoding="unicode", short_empty_elements=True)


def text_width(text: str, size: float = 12.0) -> float:
    return len(text) * CHAR_W * size / 12.0


def _n(value: float | int) -> str:
    """Coordinates with at most one decimal: stable output for the goldens."""
    if isinstance(value, int):
        return str(value)
    r = round(value, 1)
    return str(int(r)) if r == int(r) else f"{r:.1f}"
