"""(being written)"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("puskesmas_loket", __name__, url_prefix="/puskesmas/loket")
