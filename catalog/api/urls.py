from django.urls import path

from catalog.api import features, views

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
]
