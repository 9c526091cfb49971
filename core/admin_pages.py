"""Model admins whose pages are an app's own dashboard views.

The apps keep Django's admin for lists, search and permissions, and draw their add
and change pages themselves (``<app>.views``), as Stripe's dashboard does: a detail
page with its buttons, each button a POST to an action URL. ``PagesAdmin`` routes
those URLs and checks permissions in one place. Object ids travel admin-quoted in
every URL (``quote`` / ``|admin_urlquote``, as Django's own admin links do), and the
views receive them unquoted.

The dashboard shows one mode at a time, as Stripe's does: ``DashboardModeMiddleware``
makes the mode staff switched to (``mode_switch``, kept in the session; test by
default) the active mode of every dashboard request (``core.modes``), so lists,
pages, form choices and what the pages create belong to that mode.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from core import audit, modes
from core.admin_export import CsvExportMixin

DASHBOARD_PREFIX = "/admin/"
# The session key of the dashboard's mode: True live, False (or absent) test.
SESSION_LIVEMODE = "tally_livemode"


class PagesAdmin(CsvExportMixin, admin.ModelAdmin):
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
    breadcrumbs: the admin site's context and the model's ``opts``).

    ``can_change`` (unless the view gives its own) says whether the page shows its
    buttons: a read-only role (``core.roles``) sees none.
    """
    return TemplateResponse(
        request,
        template,
        {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.model._meta,
            "title": title,
            "can_change": model_admin.has_change_permission(request),
            **context,
        },
    )


def dashboard_livemode(request) -> bool:
    """The mode the dashboard shows this staff session (test until switched)."""
    session = getattr(request, "session", None)
    return bool(session.get(SESSION_LIVEMODE, False)) if session is not None else False


class DashboardModeMiddleware:
    """Serve each dashboard request in the session's mode (``core.modes``), with
    the staff user as the actor of what it changes (``core.audit``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(DASHBOARD_PREFIX):
            return self.get_response(request)
        token = modes.activate(dashboard_livemode(request))
        user = getattr(request, "user", None)
        try:
            if user is None or not user.is_authenticated:
                return self.get_response(request)
            with audit.acting_as(audit.actor_for_user(user)):
                return self.get_response(request)
        finally:
            modes.reset(token)


@require_POST
def mode_switch(request):
    """Switch the dashboard to ``livemode`` ("true"/"false") and go back to ``next``
    (a list stays a list; an object of the other mode is not there)."""
    if not (request.user.is_active and request.user.is_staff):
        raise PermissionDenied
    request.session[SESSION_LIVEMODE] = request.POST.get("livemode") == "true"
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ) or not target.startswith(DASHBOARD_PREFIX):
        target = reverse("admin:index")
    return HttpResponseRedirect(target)


def dashboard_mode(request) -> dict:
    """Template context: the dashboard's mode, for the switch and the banner."""
    if not request.path.startswith(DASHBOARD_PREFIX):
        return {}
    livemode = dashboard_livemode(request)
    return {"tally_livemode": livemode, "tally_mode_label": modes.mode_label(livemode)}
