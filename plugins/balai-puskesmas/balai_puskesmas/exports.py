"""(being written)"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("puskesmas_kirim", __name__, url_prefix="/puskesmas/kirim")
