"""The ML platform Django app: shared models, admin, main pages and the ETL / connections sub-apps."""
