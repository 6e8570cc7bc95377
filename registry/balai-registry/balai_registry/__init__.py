"""Balai plugin ``registry``: partner regions send plugins upstream, every region installs them."""
