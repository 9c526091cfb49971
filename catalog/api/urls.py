from django.urls import path

from catalog.api import views

urlpatterns = [
    path("v1/products", views.ProductListView.as_view()),
    path("v1/products/<str:product_id>", views.ProductDetailView.as_view()),
    path("v1/prices", views.PriceListView.as_view()),
    path("v1/prices/<str:price_id>", views.PriceDetailView.as_view()),
]
