"""Balai's default theme: semantic HTML, one small stylesheet, no web fonts."""

from pathlib import Path

from balai.themes import Theme

theme = Theme(
    name="default",
    label="Balai (bawaan)",
    root=Path(__file__).parent,
    colours={"primary": "#0b5d7a", "accent": "#c8102e", "background": "#ffffff"},
)
