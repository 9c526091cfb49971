"""Invoice and credit note documents: the PDFs and the hosted invoice page.

- ``document``: the neutral values a document holds (``InvoiceDocument``);
- ``selectors``: the one selector that builds it from a finalized invoice, with
  one small row function per part (``rows``: discounts labelled by coupon,
  credits, taxes, balance; ``usage``: the usage behind each metered line;
  ``parties``: seller and buyer);
- ``credit_notes``: the same document built from an issued credit note;
- ``pdf``: draws a document as a PDF (fpdf2, fonts shipped in ``fonts/``);
- ``files``: the rendered PDFs, kept on disk once made (the same invoice or
  credit note always renders the same bytes; the file names carry what can
  still change: an invoice's amount due, a credit note's status);
- ``links``: the public URLs (``hosted_invoice_url``, ``invoice_pdf``, a credit
  note's ``pdf``);
- ``views``: the public pages behind those URLs.
"""
