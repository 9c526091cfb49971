"""Signals the catalog sends so higher apps can follow it without being imported.

``product_features_changed(product_id=...)`` is sent inside the transaction that
attached a feature to a product or detached one: whoever keeps entitlements
(the alerts app) recomputes the product's subscribers in that transaction.
"""

from django.dispatch import Signal

product_features_changed = Signal()
