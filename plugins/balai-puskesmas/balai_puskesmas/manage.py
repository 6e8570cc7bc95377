"""(being written)"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("puskesmas_kelola", __name__, url_prefix="/puskesmas/kelola")
