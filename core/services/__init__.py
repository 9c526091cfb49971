"""Writes of the core app, one module per subdomain."""
