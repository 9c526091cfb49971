from django.urls import path

from billing.api import (
    commitments,
    coupons,
    credit_notes,
    invoices,
    rate_card_migrations,
    taxes,
    views,
)

urlpatterns = [
    path("v1/subscriptions", views.SubscriptionListView.as_view()),
    path(
        "v1/subscriptions/<str:subscription_id>",
        views.SubscriptionDetailView.as_view(),
    ),
    path("v1/subscription_items", views.SubscriptionItemListView.as_view()),
    path(
        "v1/subscription_items/<str:item_id>",
        views.SubscriptionItemDetailView.as_view(),
    ),
    path("v1/invoices", invoices.InvoiceListView.as_view()),
    path("v1/invoices/create_preview", invoices.InvoicePreviewView.as_view()),
    path("v1/invoices/upcoming", invoices.InvoiceUpcomingView.as_view()),
    path("v1/invoices/<str:invoice_id>", invoices.InvoiceDetailView.as_view()),
    path(
        "v1/invoices/<str:invoice_id>/finalize",
        invoices.InvoiceFinalizeView.as_view(),
    ),
    path("v1/invoices/<str:invoice_id>/pay", invoices.InvoicePayView.as_view()),
    path("v1/invoices/<str:invoice_id>/void", invoices.InvoiceVoidView.as_view()),
    path(
        "v1/invoices/<str:invoice_id>/mark_uncollectible",
        invoices.InvoiceMarkUncollectibleView.as_view(),
    ),
    path("v1/invoices/<str:invoice_id>/send", invoices.InvoiceSendView.as_view()),
    path("v1/invoices/<str:invoice_id>/lines", invoices.InvoiceLineListView.as_view()),
    path(
        "v1/invoices/<str:invoice_id>/lines/<str:line_id>",
        invoices.InvoiceLineDetailView.as_view(),
    ),
    path("v1/credit_notes", credit_notes.CreditNoteListView.as_view()),
    path("v1/credit_notes/preview", credit_notes.CreditNotePreviewView.as_view()),
    path(
        "v1/credit_notes/preview/lines",
        credit_notes.CreditNotePreviewLinesView.as_view(),
    ),
    path(
        "v1/credit_notes/<str:credit_note_id>",
        credit_notes.CreditNoteDetailView.as_view(),
    ),
    path(
        "v1/credit_notes/<str:credit_note_id>/lines",
        credit_notes.CreditNoteLineListView.as_view(),
    ),
    path(
        "v1/credit_notes/<str:credit_note_id>/void",
        credit_notes.CreditNoteVoidView.as_view(),
    ),
    path("v1/invoiceitems", invoices.InvoiceItemListView.as_view()),
    path("v1/billing/commitments", commitments.CommitmentListView.as_view()),
    path(
        "v1/billing/commitments/<str:commitment_id>",
        commitments.CommitmentDetailView.as_view(),
    ),
    path(
        "v1/billing/commitments/<str:commitment_id>/void",
        commitments.CommitmentVoidView.as_view(),
    ),
    path("v1/coupons", coupons.CouponListView.as_view()),
    path("v1/coupons/<str:coupon_id>", coupons.CouponDetailView.as_view()),
    path("v1/promotion_codes", coupons.PromotionCodeListView.as_view()),
    path(
        "v1/promotion_codes/<str:code_id>",
        coupons.PromotionCodeDetailView.as_view(),
    ),
    path(
        "v1/customers/<str:customer_id>/discount",
        coupons.CustomerDiscountView.as_view(),
    ),
    path(
        "v1/subscriptions/<str:subscription_id>/discount",
        coupons.SubscriptionDiscountView.as_view(),
    ),
    path("v1/invoiceitems/<str:item_id>", invoices.InvoiceItemDetailView.as_view()),
    path("v1/tax_rates", taxes.TaxRateListView.as_view()),
    path("v1/tax_rates/<str:tax_rate_id>", taxes.TaxRateDetailView.as_view()),
    path(
        "v1/customers/<str:customer_id>/tax_ids",
        taxes.CustomerTaxIdListView.as_view(),
    ),
    path(
        "v1/customers/<str:customer_id>/tax_ids/<str:tax_id>",
        taxes.CustomerTaxIdDetailView.as_view(),
    ),
    path(
        "v2/billing/rate_card_migrations",
        rate_card_migrations.MigrationListView.as_view(),
    ),
    path(
        "v2/billing/rate_card_migrations/<str:migration_id>",
        rate_card_migrations.MigrationDetailView.as_view(),
    ),
    path(
        "v2/billing/rate_card_migrations/<str:migration_id>/confirm",
        rate_card_migrations.MigrationConfirmView.as_view(),
    ),
    path(
        "v2/billing/rate_card_migrations/<str:migration_id>/subscriptions",
        rate_card_migrations.MigrationSubscriptionsView.as_view(),
    ),
]
