"""(being written)"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("puskesmas", __name__, url_prefix="/puskesmas", template_folder="templates")
