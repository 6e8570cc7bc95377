"""(being written)"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("puskesmas_feeds", __name__, url_prefix="/puskesmas", template_folder="templates")


def widgets(user):
    return []


def map_layers():
    return []
