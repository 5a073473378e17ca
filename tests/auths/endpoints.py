"""This app's API endpoints for the isolation matrix in tests/test_tenancy.py:
url name -> (methods, builder). A builder takes the victim Tenant and returns the URL kwargs."""

ENDPOINTS: dict = {}
