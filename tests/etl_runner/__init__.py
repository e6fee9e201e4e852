"""ETL runner tests (no Django)."""
