"""Dashboard pages for rate cards: set one up, publish versions, migrate.

A card's page lists its versions and their rates, and has the forms that add a
metered item, set a rate on the draft, publish it, and start a migration: the
chosen subscribers' dry-run report opens on the migration's page, where staff
confirm it. Each form calls one service; refusals show as messages.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import quote
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse

from billing.models import RateCardMigration, Subscription
from billing.selectors import rate_card_migration_by_customer
from billing.services.rate_card_migrations import (
    rate_card_migration_confirm,
    rate_card_migration_create,
)
from catalog.models import MeteredItem, RateCard, RateCardRate, RateCardVersion
from catalog.rate_cards import services as cards
from core import clock, modes
from core.admin_pages import admin_page
from core.api.fields import decimal_string
from core.errors import TallyError
from metering.models import Meter


class RateCardForm(forms.Form):
    display_name = forms.CharField(max_length=250)
    currency = forms.RegexField(regex=r"^[A-Za-z]{3}$", initial="usd")
    service_interval = forms.ChoiceField(
        choices=RateCard.ServiceInterval.choices, initial="month"
    )
    service_interval_count = forms.IntegerField(min_value=1, max_value=36, initial=1)


class MeteredItemForm(forms.Form):
    display_name = forms.CharField(max_length=250)
    meter = forms.ModelChoiceField(queryset=Meter.objects.filter(status="active"))
    segment = forms.CharField(
        required=False, help_text="Dimension conditions, e.g. model=large, region=eu"
    )
    unit_label = forms.CharField(max_length=100, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["meter"].queryset = modes.in_mode(self.fields["meter"].queryset)

    def clean_segment(self) -> list[dict[str, str]]:
        conditions = []
        for part in filter(
            None, (p.strip() for p in self.cleaned_data["segment"].split(","))
        ):
            key, sep, value = part.partition("=")
            if not sep or not key.strip():
                raise forms.ValidationError("Write each condition as key=value.")
            conditions.append({"dimension": key.strip(), "value": value.strip()})
        return conditions


class RateForm(forms.Form):
    metered_item = forms.ModelChoiceField(queryset=MeteredItem.objects.all())
    unit_amount = forms.DecimalField(
        min_value=Decimal(0), decimal_places=12, help_text="Minor units per unit"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["metered_item"]
        field.queryset = modes.in_mode(field.queryset)


def card_url(card_id: str) -> str:
    return reverse("admin:catalog_ratecard_change", args=[quote(card_id)])


def migration_url(migration_id: str) -> str:
    return reverse("admin:billing_ratecardmigration_change", args=[quote(migration_id)])


def _errors(form: forms.Form) -> str:
    return " ".join(
        f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()
    )


def rate_card_create(request, *, model_admin):
    """The "New rate card" page."""
    form = RateCardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            card = cards.rate_card_create(params=form.cleaned_data, now=clock.now())
        except TallyError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Created the rate card {card.display_name}.")
            return HttpResponseRedirect(card_url(card.pk))
    return admin_page(
        request,
        model_admin,
        "billing/rate_card_create.html",
        "New rate card",
        form=form,
    )


def rate_card_detail(request, card_id: str, *, model_admin):
    """A card's versions with their rates, and the forms that change it."""
    card = get_object_or_404(RateCard, pk=card_id)
    versions = list(card.versions.order_by("-number"))
    rates = RateCardRate.objects.filter(rate_card=card).select_related(
        "metered_item", "price"
    )
    by_version: dict[str, list[RateCardRate]] = {v.pk: [] for v in versions}
    for rate in rates.order_by("metered_item__display_name"):
        price = rate.price
        rate.shown_amount = (
            f"{price.tiers_mode} tiers"
            if price.unit_amount_decimal is None
            else decimal_string(price.unit_amount_decimal)
        )
        by_version[rate.rate_card_version_id].append(rate)
    subscribers = Subscription.objects.filter(
        rate_card=card, status__in=Subscription.BILLING_STATUSES
    ).select_related("customer")
    return admin_page(
        request,
        model_admin,
        "billing/rate_card_detail.html",
        f"Rate card {card.display_name}",
        card=card,
        versions=[(version, by_version[version.pk]) for version in versions],
        published=[v for v in versions if v.is_published],
        all_published=RateCardVersion.objects.filter(
            published_at__isnull=False
        ).select_related("rate_card"),
        subscribers=list(subscribers.order_by("customer__name", "id")[:500]),
        item_form=MeteredItemForm(),
        rate_form=RateForm(),
    )


def rate_card_action(request, card_id: str, action: str, *, model_admin):
    """A card's buttons: item, rate, publish, migrate (POST)."""
    card = get_object_or_404(RateCard, pk=card_id)
    handler = _ACTIONS.get(action)
    if handler is None:
        raise Http404("Unknown rate card action")
    try:
        target = handler(request, card)
    except TallyError as error:
        messages.error(request, error.message)
        target = None
    return HttpResponseRedirect(target or card_url(card.pk))


def _item(request, card: RateCard) -> None:
    form = MeteredItemForm(request.POST)
    if not form.is_valid():
        messages.error(request, _errors(form))
        return None
    data = form.cleaned_data
    item = cards.metered_item_create(
        params={
            "display_name": data["display_name"],
            "meter": data["meter"].pk,
            "meter_segment_conditions": data["segment"],
            "unit_label": data["unit_label"],
        },
        now=clock.now(),
    )
    messages.success(request, f"Created the metered item {item.display_name}.")
    return None


def _rate(request, card: RateCard) -> None:
    form = RateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _errors(form))
        return None
    rate = cards.rate_set(
        card=card,
        params={
            "metered_item": form.cleaned_data["metered_item"].pk,
            "unit_amount": form.cleaned_data["unit_amount"],
        },
        now=clock.now(),
    )
    messages.success(request, f"Set the rate {rate.pk} on the draft.")
    return None


def _publish(request, card: RateCard) -> None:
    draft = card.versions.filter(published_at__isnull=True).first()
    if draft is None:
        messages.error(request, "There is no draft to publish; set a rate first.")
        return None
    cards.rate_card_version_publish(card=card, version=draft, now=clock.now())
    messages.success(request, f"Published version {draft.number}.")
    return None


def _migrate(request, card: RateCard) -> str | None:
    chosen = request.POST.getlist("subscriptions")
    if request.POST.get("everyone"):
        params = {"rate_card": card.pk}
    else:
        params = {"subscriptions": chosen}
    migration = rate_card_migration_create(
        params={**params, "rate_card_version": request.POST.get("rate_card_version")},
        now=clock.now(),
    )
    messages.success(request, "Dry run ready: check the report, then confirm.")
    return migration_url(migration.pk)


_ACTIONS = {"item": _item, "rate": _rate, "publish": _publish, "migrate": _migrate}


def rate_card_migration_detail(request, migration_id: str, *, model_admin):
    """The dry-run report: per customer and total, and the confirm button."""
    migration = get_object_or_404(
        RateCardMigration.objects.select_related("rate_card_version__rate_card"),
        pk=migration_id,
    )
    rows = rate_card_migration_by_customer(migration=migration)
    for row in rows:
        row["difference"] = row["amount_proposed"] - row["amount_current"]
    return admin_page(
        request,
        model_admin,
        "billing/rate_card_migration_detail.html",
        f"Rate card migration {migration.pk}",
        migration=migration,
        rows=rows,
        difference=migration.amount_proposed - migration.amount_current,
        card_url=card_url(migration.rate_card_version.rate_card_id),
    )


def rate_card_migration_action(request, migration_id: str, action: str, *, model_admin):
    migration = get_object_or_404(RateCardMigration, pk=migration_id)
    if action != "confirm":
        raise Http404("Unknown migration action")
    try:
        rate_card_migration_confirm(migration=migration, now=clock.now())
    except TallyError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            "Confirmed: each subscription moves at the start of its next period.",
        )
    return HttpResponseRedirect(migration_url(migration.pk))
