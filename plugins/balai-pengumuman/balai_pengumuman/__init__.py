"""Balai plugin ``pengumuman``: public announcements of a region and its departments."""
