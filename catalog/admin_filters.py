"""A currency filter for big lists: the catalog's currencies, not the table's."""

from __future__ import annotations

from catalog.models import Price
from core.admin_filters import ChoicesFilter


class CurrencyFilter(ChoicesFilter):
    """``?currency=usd``: the currencies of the catalog's prices (a small table),
    plus the one picked, instead of ``SELECT DISTINCT currency`` over the list."""

    title = "currency"
    parameter_name = "currency"

    def choices_known(self) -> list[str]:
        return sorted(
            set(Price.objects.order_by().values_list("currency", flat=True).distinct())
        )
