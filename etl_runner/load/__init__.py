"""Warehouses: one module per backend (see base.py)."""
