"""Versioned rate cards (Stripe v2 preview shapes): metered items, rate cards,
their immutable published versions and the rates of each version.

Catalog data: what usage costs. Which subscription follows which card and
version, and migrations between versions, live in ``billing``.
"""
