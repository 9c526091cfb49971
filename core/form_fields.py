"""A customer field for dashboard forms that stays usable at 100,000 customers.

A ``<select>`` of every customer is the friendliest choice for a few hundred and
unusable beyond: a page with a hundred thousand options weighs megabytes and
takes seconds to draw. ``CustomerField`` is a select up to ``SELECT_LIMIT``
customers (counted once per form, capped) and otherwise a text box for the
customer's id (``cus_…``), checked the same way.
"""

from __future__ import annotations

from django import forms

SELECT_LIMIT = 200


class CustomerField(forms.ModelChoiceField):
    """A customer: a select of all when few, else a box for the id."""

    default_error_messages = {
        "invalid_choice": "No such customer: type the id (cus_…) from Customers.",
    }

    def label_from_instance(self, customer) -> str:
        email = f" <{customer.email}>" if customer.email else ""
        return f"{customer}{email}"

    def __deepcopy__(self, memo):
        # Each form gets its own copy of the field: decide its widget then, in
        # the request's mode.
        field = super().__deepcopy__(memo)
        many = field.queryset.order_by()[: SELECT_LIMIT + 1].count() > SELECT_LIMIT
        if many:
            attrs = {
                **field.widget.attrs,
                "placeholder": "cus_…",
                "spellcheck": "false",
            }
            field.widget = forms.TextInput(attrs=attrs)
            hint = "Type the customer's id (cus_…); find it under Customers."
            field.help_text = f"{field.help_text} {hint}".strip()
        return field
