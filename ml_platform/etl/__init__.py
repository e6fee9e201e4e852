"""
ETL Sub-App

Handles all ETL-related functionality:
- ETL page views
- ETL job management APIs
- Cloud Scheduler webhook handlers
- ETL run monitoring
"""
