"""Sources: one module per kind, each yielding Arrow record batches (see base.py)."""
