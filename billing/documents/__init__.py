"""Invoice documents: the PDF and the hosted invoice page.

- ``document``: the neutral values a document holds (``InvoiceDocument``);
- ``selectors``: the one selector that builds it from a finalized invoice, with
  one small row function per part (``rows``: discounts, credits, taxes, balance;
  ``usage``: the usage behind each metered line; ``parties``: seller and buyer);
- ``pdf``: draws a document as a PDF (fpdf2, fonts shipped in ``fonts/``);
- ``files``: the rendered PDF, kept on disk once made (finalized invoices never
  change, and the same invoice always renders the same bytes);
- ``links``: the public URLs (``hosted_invoice_url``, ``invoice_pdf``);
- ``views``: the public pages behind those URLs.
"""
