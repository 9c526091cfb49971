"""Dashboard lists that stay fast at a million rows.

- ``CappedPaginator`` counts at most ``COUNT_CAP`` rows (``count(*)`` over a
  million rows costs more than the page itself): a list with more says "10,000+"
  and pages on up to the cap; filters narrow it further.
- ``ScaledSearchMixin`` searches by equality on ids and numbers (index lookups)
  and finds customers by id, email or name first, then the rows of those
  customers by their indexed foreign key, instead of one ``ILIKE`` per column
  joined over every row.
"""

from __future__ import annotations

from functools import cached_property

from django.core.paginator import Paginator
from django.db.models import Q

COUNT_CAP = 10_000
# Customers a search term may match before the list says "refine the search".
CUSTOMER_MATCHES = 500


class CappedPaginator(Paginator):
    """A paginator whose count stops at ``COUNT_CAP`` (``capped`` says it did)."""

    @cached_property
    def counted(self) -> int:
        """Rows found, up to one past the cap: ``SELECT count(*)`` of a ``LIMIT``."""
        return self.object_list[: COUNT_CAP + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self.counted, COUNT_CAP)

    @property
    def capped(self) -> bool:
        return self.counted > COUNT_CAP


class ScaledListMixin:
    """A model admin for big lists: capped counts, no full-table count, and a
    search by exact ids (``exact_search_fields``) and by customer
    (``customer_search_field``, the foreign key to ``core.Customer``)."""

    paginator = CappedPaginator
    show_full_result_count = False
    # Drawing a row costs more than reading it: 50 a page, not Django's 100.
    list_per_page = 50
    exact_search_fields: tuple[str, ...] = ("id",)
    customer_search_field: str | None = "customer"

    @property
    def search_help_text(self) -> str:
        exact = " or ".join(
            field.removesuffix("_id").replace("_", " ")
            for field in self.exact_search_fields
        )
        if self.customer_search_field:
            return f"{exact.capitalize()} exactly, or a customer's id, email or name."
        return f"{exact.capitalize()} exactly."

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        condition = Q()
        for field in self.exact_search_fields:
            condition |= Q(**{field: term})
        if self.customer_search_field:
            from core.selectors import customer_ids_matching

            customers = customer_ids_matching(term=term, limit=CUSTOMER_MATCHES)
            if customers:
                condition |= Q(**{f"{self.customer_search_field}_id__in": customers})
        return queryset.filter(condition), False
