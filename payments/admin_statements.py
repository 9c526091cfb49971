"""Bank statements in the staff dashboard: upload a CSV, see what matched, assign
the unmatched lines to invoices."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Q

from billing.models import Invoice
from core import clock, modes
from core.admin_pages import dashboard_livemode
from core.errors import TallyError
from core.modes import in_mode
from core.money import format_minor
from payments.models import BankStatement, StatementLine
from payments.services.statements import (
    bank_statement_import,
    statement_line_assign,
    statement_rows_parse,
)


class StatementUploadForm(forms.ModelForm):
    csv_file = forms.FileField(
        label="CSV file",
        help_text="Columns: date (YYYY-MM-DD), amount (e.g. 1234.56), currency, "
        "reference (the invoice number).",
    )

    class Meta:
        model = BankStatement
        fields = ("name",)

    def clean_csv_file(self):
        upload = self.cleaned_data["csv_file"]
        try:
            text = upload.read().decode("utf-8-sig")
            statement_rows_parse(text)
        except UnicodeDecodeError as exc:
            raise forms.ValidationError("The file must be UTF-8 text.") from exc
        except TallyError as error:
            raise forms.ValidationError(error.message) from error
        return text


class LineInline(admin.TabularInline):
    model = StatementLine
    fields = (
        "row",
        "booked_on",
        "amount_shown",
        "reference",
        "status",
        "invoice",
        "note",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Amount")
    def amount_shown(self, line: StatementLine) -> str:
        return format_minor(line.amount, line.currency)


@admin.register(BankStatement)
class BankStatementAdmin(admin.ModelAdmin):
    list_display = ("name", "uploaded_at", "matched", "unmatched")
    inlines = (LineInline,)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = StatementUploadForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return ("name", "uploaded_at") if obj else ()

    def get_inlines(self, request, obj):
        return self.inlines if obj else ()

    def save_model(self, request, obj, form, change) -> None:
        if change:
            return
        statement = bank_statement_import(
            name=form.cleaned_data["name"],
            csv_text=form.cleaned_data["csv_file"],
            now=clock.now(),
            livemode=dashboard_livemode(request),
        )
        obj.pk = statement.pk

    def save_related(self, request, form, formsets, change) -> None:
        return

    @admin.display(description="Matched")
    def matched(self, statement: BankStatement) -> int:
        return statement.lines.exclude(status="unmatched").count()

    @admin.display(description="Unmatched")
    def unmatched(self, statement: BankStatement) -> int:
        return statement.lines.filter(status="unmatched").count()


class AssignForm(forms.ModelForm):
    assign_to = forms.CharField(
        label="Assign to invoice",
        required=False,
        help_text="The invoice's number or id; the line is recorded as its payment.",
    )
    ignore = forms.BooleanField(required=False, help_text="Not an invoice payment.")

    class Meta:
        model = StatementLine
        fields = ()


@admin.register(StatementLine)
class StatementLineAdmin(admin.ModelAdmin):
    """Statement lines; unmatched ones are assigned to an invoice or ignored here."""

    form = AssignForm
    list_display = (
        "statement",
        "row",
        "booked_on",
        "amount_shown",
        "reference",
        "status",
        "invoice",
        "note",
    )
    list_filter = ("status", "statement")
    search_fields = ("reference", "note")
    readonly_fields = (
        "statement",
        "row",
        "booked_on",
        "amount_shown",
        "reference",
        "status",
        "invoice",
        "note",
    )

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Amount")
    def amount_shown(self, line: StatementLine) -> str:
        return format_minor(line.amount, line.currency)

    def save_model(self, request, obj, form, change) -> None:
        if form.cleaned_data.get("ignore") and obj.status == "unmatched":
            StatementLine.objects.filter(pk=obj.pk).update(status="ignored")
            return
        ref = (form.cleaned_data.get("assign_to") or "").strip()
        if not ref:
            return
        invoice = (
            in_mode(Invoice.objects.filter(Q(pk=ref) | Q(number=ref)))
            .select_related("customer")
            .first()
        )
        if invoice is None:
            self.message_user(request, f"No invoice {ref}.", level=messages.ERROR)
            return
        with modes.scope(obj.livemode):
            try:
                done = statement_line_assign(
                    line=obj,
                    invoice=invoice,
                    now=clock.now_for_customer(invoice.customer),
                )
            except TallyError as error:
                self.message_user(request, error.message, level=messages.ERROR)
                return
        if not done:
            obj.refresh_from_db()
            self.message_user(request, obj.note, level=messages.ERROR)
