"""Model admins whose pages are an app's own dashboard views.

The apps keep Django's admin for lists, search and permissions, and draw their add
and change pages themselves (``<app>.views``), as Stripe's dashboard does: a detail
page with its buttons, each button a POST to an action URL. ``PagesAdmin`` routes
those URLs and checks permissions in one place. Object ids travel admin-quoted in
every URL (``quote`` / ``|admin_urlquote``, as Django's own admin links do), and the
views receive them unquoted.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.views.decorators.http import require_POST


class PagesAdmin(admin.ModelAdmin):
    """Add and change pages served by ``create_page`` and ``detail_page``.

    ``create_page(request, *, model_admin)`` and ``detail_page(request, object_id,
    *, model_admin)`` are view functions. ``detail_takes_post`` says whether the
    detail page has a form of its own (POSTed to it, by those who may change);
    otherwise its buttons post to ``action_urls``.
    """

    create_page = None
    detail_page = None
    detail_takes_post = False

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        return type(self).create_page(request, model_admin=self)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if request.method == "POST" and not (
            self.detail_takes_post and self.has_change_permission(request)
        ):
            raise PermissionDenied
        return type(self).detail_page(request, unquote(object_id), model_admin=self)

    def action_urls(self) -> list[tuple[str, str, object]]:
        """(name, route, view) of each button of the detail page.

        The URL ``<path:object_id>/<route>/`` is named ``<app>_<model>_<name>``; its
        view is called as ``view(request, object_id, *, model_admin, **kwargs)``
        with the route's other parts as ``kwargs``.
        """
        return []

    def get_urls(self):
        prefix = f"{self.model._meta.app_label}_{self.model._meta.model_name}"
        return [
            *(
                path(
                    f"<path:object_id>/{route}/",
                    self.post_action(view),
                    name=f"{prefix}_{name}",
                )
                for name, route, view in self.action_urls()
            ),
            *super().get_urls(),
        ]

    def post_action(self, view):
        """A POST-only URL for ``view``, open to those who may change the model."""

        def changing(request, object_id, **kwargs):
            if not self.has_change_permission(request):
                raise PermissionDenied
            return view(request, unquote(object_id), model_admin=self, **kwargs)

        return self.admin_site.admin_view(require_POST(changing))


def admin_page(request, model_admin, template: str, title: str, **context):
    """One of the app's dashboard pages, inside the admin's frame (header, sidebar,
    breadcrumbs: the admin site's context and the model's ``opts``)."""
    return TemplateResponse(
        request,
        template,
        {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.model._meta,
            "title": title,
            **context,
        },
    )
