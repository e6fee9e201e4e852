"""The ETL runner: extract -> normalize -> load, its own program; never imports Django."""

__version__ = "1.0.0"
