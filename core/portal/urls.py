"""Core's customer pages; config/urls.py mounts them with the apps' under /customer/."""

from django.urls import path

from core.portal import views

urlpatterns = [path("", views.overview, name="overview")]
