"""Balai plugin ``bank_sampah``: Bank Sampah."""
