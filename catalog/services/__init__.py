"""Writes of the catalog app: products and prices.

The API, the dashboard and the demo data all go through these functions.
"""

from catalog.services.prices import price_create, price_update
from catalog.services.products import product_create, product_delete, product_update

__all__ = [
    "price_create",
    "price_update",
    "product_create",
    "product_delete",
    "product_update",
]
