"""Balai plugin ``kebun_warga``: Kebun Warga."""
