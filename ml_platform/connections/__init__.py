"""
Connections Sub-App

Handles all connection management functionality:
- Connection CRUD operations
- Connection testing
- Credential management (Secret Manager)
- Schema/table fetching
"""
