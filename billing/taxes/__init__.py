"""Taxes: tax rates, customers' tax ids and exemption, and the pipeline's tax step.

- ``calculate``: the arithmetic (pure): per line and rate, rounded per line.
- ``provider``: the interface an automatic tax service would implement, and
  ``ManualTaxRates``, the rates named on lines, chosen by ``TALLY_TAX_PROVIDER``.
- ``rates``: tax rate services (create, update, ids checked, marked used).
- ``tax_ids`` / ``customer_tax_ids``: Stripe's tax id types, checked by
  python-stdnum; a customer's tax ids.
- ``invoices``: the step's inputs for written invoices and what it records
  (line ``taxes``, invoice ``total_taxes``, the customer as billed).

Rounding: Stripe's default, per line item: each line's tax for each rate is
rounded once to the minor unit, half away from zero, and the invoice's taxes are
sums of those. (Stripe also offers rounding once per invoice; Tally does not.)
"""
