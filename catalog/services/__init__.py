"""Writes of the catalog app: products, prices, features and product features.

The API, the dashboard and the demo data all go through these functions.
"""

from catalog.services.features import (
    feature_create,
    feature_update,
    product_feature_create,
    product_feature_delete,
)
from catalog.services.prices import price_create, price_update
from catalog.services.products import product_create, product_delete, product_update

__all__ = [
    "feature_create",
    "feature_update",
    "product_feature_create",
    "product_feature_delete",
    "price_create",
    "price_update",
    "product_create",
    "product_delete",
    "product_update",
]
