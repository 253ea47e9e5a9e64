"""Route cards for the screen: the printable cards of ``hotspot.patrol.route_cards_html`` made usable on a
phone (viewport tag, narrow-screen CSS) and with a print button that the printout itself leaves out."""
from __future__ import annotations

import html
import re

from qauipsiz.maps.labels import label

VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'
SCREEN_CSS = """
.qz-toolbar{position:sticky;top:0;background:#fff;padding:6px 0;margin-bottom:6px;border-bottom:1px solid #ccc;z-index:5}
.qz-toolbar button{font:inherit;font-size:16px;padding:6px 14px;cursor:pointer}
@media (max-width:700px){body{margin:8px} h1{font-size:16px} svg{max-width:100%;height:auto}
 table{display:block;overflow-x:auto;font-size:12px} .meta{font-size:12px}}
@media print{.qz-toolbar{display:none} svg{max-width:100%;height:auto}
 table{page-break-inside:auto} tr{page-break-inside:avoid} .qz-card-break{break-after:page}}
"""
_HEAD_END = re.compile(r"</head>", re.I)
_BODY_OPEN = re.compile(r"<body[^>]*>", re.I)
_CHARSET = re.compile(r"<meta charset=[^>]*>", re.I)


def for_screen(doc: str, lang: str = "ru") -> str:
    """Add a viewport tag, responsive and print CSS and a print button to a route-card document.

    Parameters
    ----------
    doc : str
        One HTML document (one or several cards).
    lang : {"kk", "ru", "en"}
        Language of the print button.

    Returns
    -------
    str
        The document; unchanged apart from the additions (idempotent).
    """
    if 'name="viewport"' in doc:
        return doc
    m = _CHARSET.search(doc)
    doc = doc[:m.end()] + VIEWPORT + doc[m.end():] if m else VIEWPORT + doc
    doc = _HEAD_END.sub(lambda _: f"<style>{SCREEN_CSS}</style></head>", doc, count=1)
    button = (f'<div class="qz-toolbar"><button type="button" id="qz-print" onclick="window.print()">'
              f'🖨 {html.escape(label("print", lang))}</button></div>')
    return _BODY_OPEN.sub(lambda mm: mm.group(0) + button, doc, count=1)
