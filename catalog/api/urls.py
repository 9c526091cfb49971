from django.urls import path

from catalog.api import features, rate_cards, views

urlpatterns = [
    path("v1/products", views.ProductListView.as_view()),
    path("v1/products/<str:product_id>", views.ProductDetailView.as_view()),
    path(
        "v1/products/<str:product_id>/features",
        features.ProductFeatureListView.as_view(),
    ),
    path(
        "v1/products/<str:product_id>/features/<str:attached_id>",
        features.ProductFeatureDetailView.as_view(),
    ),
    path("v1/prices", views.PriceListView.as_view()),
    path("v1/prices/<str:price_id>", views.PriceDetailView.as_view()),
    path("v1/entitlements/features", features.FeatureListView.as_view()),
    path(
        "v1/entitlements/features/<str:feature_id>",
        features.FeatureDetailView.as_view(),
    ),
    path("v2/billing/metered_items", rate_cards.MeteredItemListView.as_view()),
    path(
        "v2/billing/metered_items/<str:item_id>",
        rate_cards.MeteredItemDetailView.as_view(),
    ),
    path("v2/billing/rate_cards", rate_cards.RateCardListView.as_view()),
    path(
        "v2/billing/rate_cards/<str:rate_card_id>",
        rate_cards.RateCardDetailView.as_view(),
    ),
    path(
        "v2/billing/rate_cards/<str:rate_card_id>/versions",
        rate_cards.RateCardVersionListView.as_view(),
    ),
    path(
        "v2/billing/rate_cards/<str:rate_card_id>/versions/<str:version_id>",
        rate_cards.RateCardVersionDetailView.as_view(),
    ),
    path(
        "v2/billing/rate_cards/<str:rate_card_id>/versions/<str:version_id>/publish",
        rate_cards.RateCardVersionPublishView.as_view(),
    ),
    path(
        "v2/billing/rate_cards/<str:rate_card_id>/rates",
        rate_cards.RateListView.as_view(),
    ),
    path(
        "v2/billing/rate_cards/<str:rate_card_id>/rates/<str:rate_id>",
        rate_cards.RateDetailView.as_view(),
    ),
]
