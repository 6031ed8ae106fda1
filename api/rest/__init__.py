"""Quorum's Label Studio-compatible HTTP API (``/api/...``): plumbing in base.py, the routes in routes.py."""
