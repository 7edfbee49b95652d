"""The bundled fonts, served to the browser too: a phone may lack a script a
signatory writes in (Ge'ez above all), and the page should show their name as
the PDF does. Only the faces the stylesheet names are served; each is loaded
by the browser only for the characters of its `unicode-range`."""
from __future__ import annotations

from flask import Blueprint, abort, send_from_directory

from .. import PACKAGE_DIR

bp = Blueprint("fonts", __name__)

FONT_DIR = PACKAGE_DIR / "fonts"
WEB_FONTS = {
    "NotoSerifEthiopic-Regular.ttf",
    "NotoSerifEthiopic-Bold.ttf",
    "NotoNaskhArabic-Regular.ttf",
    "NotoNaskhArabic-Bold.ttf",
}
A_MONTH = 30 * 24 * 3600


@bp.get("/fonts/<name>")
def font(name: str):
    if name not in WEB_FONTS:
        abort(404)
    response = send_from_directory(FONT_DIR, name, mimetype="font/ttf", max_age=A_MONTH)
    response.headers["Cache-Control"] = f"public, max-age={A_MONTH}"
    return response
