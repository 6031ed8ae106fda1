"""Queries, one module per aggregate. Repositories take a session, return models or rows, never commit."""
