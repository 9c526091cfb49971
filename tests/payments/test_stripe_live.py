"""Live mode through Stripe, against a local contract server that answers as
Stripe's API reference documents (PaymentIntents, search, refunds, payment
methods), and Stripe's webhooks: verified, deduplicated."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from core import modes
from payments.models import PaymentAttempt, ProcessorEvent, Refund
from payments.services import collection, refunds
from payments.services.collection import invoice_payment_attempt
from payments.services.payment_methods import (
    payment_method_attach,
    payment_method_create,
)
from payments.services.refunds import payment_refund
from tests.billing.factories import CustomerFactory
from tests.payments.factories import T0, open_invoice

pytestmark = pytest.mark.django_db
WEBHOOK_SECRET = "whsec_contract"


def _card(pm_id: str) -> dict:
    last4 = {"pm_1Visa": "4242", "pm_1Declined": "9995"}[pm_id]
    return {
        "id": pm_id,
        "object": "payment_method",
        "type": "card",
        "customer": "cus_Stripe1",
        "livemode": True,
        "card": {
            "brand": "visa",
            "last4": last4,
            "exp_month": 8,
            "exp_year": 2030,
            "funding": "credit",
            "country": "US",
            "fingerprint": "Xt5EWLLDS7FJjR1c",
        },
    }


def _intent(form: dict, status: str, error: dict | None = None) -> dict:
    key = form.get("metadata[tally_idempotency_key]", "")
    return {
        "id": "pi_3Contract" + hashlib.sha1(key.encode()).hexdigest()[:10],
        "object": "payment_intent",
        "amount": int(form["amount"]),
        "amount_received": int(form["amount"]) if status == "succeeded" else 0,
        "currency": form["currency"],
        "status": status,
        "customer": form.get("customer"),
        "payment_method": form["payment_method"],
        "latest_charge": "ch_3Contract" if status == "succeeded" else None,
        "last_payment_error": error,
        "metadata": {"tally_idempotency_key": key},
        "livemode": True,
    }


class StripeContract(BaseHTTPRequestHandler):
    """Replays Stripe's documented answers; remembers what it was asked."""

    intents: dict[str, dict] = {}
    refunds: dict[str, dict] = {}
    requests: list[tuple[str, str, dict, dict]] = []

    def log_message(self, *args) -> None:
        return

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", "req_contract")
        self.end_headers()
        self.wfile.write(data)

    def _form(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else urlsplit(self.path).query
        return {key: values[0] for key, values in parse_qs(raw).items()}

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        form = self._form()
        self.requests.append(("GET", path, form, dict(self.headers)))
        if path.startswith("/v1/payment_methods/"):
            pm_id = path.rsplit("/", 1)[1]
            if pm_id not in ("pm_1Visa", "pm_1Declined"):
                return self._send(
                    404,
                    {
                        "error": {
                            "type": "invalid_request_error",
                            "code": "resource_missing",
                            "message": f"No such PaymentMethod: '{pm_id}'",
                            "param": "payment_method",
                        }
                    },
                )
            return self._send(200, _card(pm_id))
        if path == "/v1/payment_intents/search":
            key = form["query"].split(":'", 1)[1].rstrip("'")
            found = [
                i
                for i in self.intents.values()
                if i["metadata"]["tally_idempotency_key"] == key
            ]
            return self._send(
                200,
                {
                    "object": "search_result",
                    "data": found,
                    "has_more": False,
                    "url": path,
                },
            )
        if path == "/v1/refunds":
            found = [
                r
                for r in self.refunds.values()
                if r["payment_intent"] == form.get("payment_intent")
            ]
            return self._send(
                200, {"object": "list", "data": found, "has_more": False, "url": path}
            )
        return self._send(404, {"error": {"type": "invalid_request_error"}})

    def _refund(self, form: dict) -> None:
        key = self.headers.get("Idempotency-Key")
        if key in self.refunds:  # Stripe replays the first answer
            return self._send(200, self.refunds[key])
        intent = next(
            (i for i in self.intents.values() if i["id"] == form["payment_intent"]),
            None,
        )
        given = sum(
            r["amount"]
            for r in self.refunds.values()
            if r["payment_intent"] == form["payment_intent"]
        )
        amount = int(form["amount"])
        if intent is None or given + amount > intent["amount_received"]:
            return self._send(
                400,
                {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "amount_too_large",
                        "message": f"Refund amount (${amount / 100:.2f}) is greater "
                        "than unrefunded amount on charge.",
                        "param": "amount",
                    }
                },
            )
        refund = {
            "id": f"re_3Contract{len(self.refunds) + 1}",
            "object": "refund",
            "amount": amount,
            "charge": intent["latest_charge"],
            "currency": intent["currency"],
            "metadata": {
                "tally_idempotency_key": form.get("metadata[tally_idempotency_key]")
            },
            "payment_intent": form["payment_intent"],
            "reason": form.get("reason"),
            "status": "succeeded",
        }
        self.refunds[key] = refund
        return self._send(200, refund)

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        form = self._form()
        self.requests.append(("POST", path, form, dict(self.headers)))
        if path == "/v1/payment_intents":
            key = self.headers.get("Idempotency-Key")
            if key in self.intents:  # Stripe replays the first answer
                return self._send(200, self.intents[key])
            if form["payment_method"] == "pm_1Declined":
                error = {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "insufficient_funds",
                    "message": "Your card has insufficient funds.",
                }
                intent = _intent(form, "requires_payment_method", error)
                self.intents[key] = intent
                return self._send(402, {"error": {**error, "payment_intent": intent}})
            intent = _intent(form, "succeeded")
            self.intents[key] = intent
            return self._send(200, intent)
        if path == "/v1/refunds":
            return self._refund(form)
        return self._send(404, {"error": {"type": "invalid_request_error"}})


@pytest.fixture
def stripe_api(settings):
    StripeContract.intents = {}
    StripeContract.refunds = {}
    StripeContract.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), StripeContract)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.TALLY_STRIPE_API_BASE = f"http://127.0.0.1:{server.server_port}"
    settings.TALLY_STRIPE_SECRET_KEY = "sk_test_contract"
    settings.TALLY_STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    yield StripeContract
    server.shutdown()
    server.server_close()


def _live_invoice(pm_id: str, amount: int = 5_000):
    with modes.scope(True):
        customer = CustomerFactory(livemode=True, email="ap@example.com")
        method = payment_method_create(
            params={"type": "card", "card": {"token": pm_id}}
        )
        method = payment_method_attach(payment_method_id=method.pk, customer=customer)
        invoice = open_invoice(customer, amount=amount)
    return invoice, method


def _charge(invoice, method):
    return invoice_payment_attempt(
        invoice_id=invoice.pk, number=1, now=T0, payment_method=method
    )


def test_a_live_charge_is_an_off_session_payment_intent_with_tallys_key(stripe_api):
    invoice, method = _live_invoice("pm_1Visa")
    assert (method.processor, method.processor_reference) == ("stripe", "pm_1Visa")
    assert method.card["last4"] == "4242"
    attempt = _charge(invoice, method)
    invoice.refresh_from_db()
    assert attempt.status == "succeeded"
    assert invoice.status == "paid"
    assert invoice.livemode is True
    (post,) = [r for r in stripe_api.requests if r[1] == "/v1/payment_intents"]
    _, _, form, headers = post
    assert headers["Idempotency-Key"] == attempt.idempotency_key
    assert headers["Authorization"] == "Bearer sk_test_contract"
    assert form["confirm"] == "true"
    assert form["off_session"] == "true"
    assert form["amount"] == "5000"
    assert form["customer"] == "cus_Stripe1"
    assert form["metadata[tally_idempotency_key]"] == attempt.idempotency_key
    # A refund goes to Stripe with its own key.
    refund = payment_refund(payment_intent=attempt.payment_intent, amount=1_000, now=T0)
    assert (refund.status, refund.processor_reference) == ("succeeded", "re_3Contract1")
    (refund_call,) = [
        r for r in stripe_api.requests if r[:2] == ("POST", "/v1/refunds")
    ]
    assert refund_call[2]["amount"] == "1000"
    assert refund_call[3]["Idempotency-Key"] == refund.idempotency_key


def test_a_live_decline_keeps_stripes_codes(stripe_api):
    invoice, method = _live_invoice("pm_1Declined")
    attempt = _charge(invoice, method)
    assert attempt.status == "failed"
    assert (attempt.failure_code, attempt.decline_code) == (
        "card_declined",
        "insufficient_funds",
    )
    invoice.refresh_from_db()
    assert invoice.status == "open"


def test_an_unknown_stripe_payment_method_is_refused(stripe_api):
    from core.errors import InvalidRequest

    with modes.scope(True), pytest.raises(InvalidRequest):
        payment_method_create(params={"type": "card", "card": {"token": "pm_1Nope"}})


def test_a_crash_after_stripe_charged_is_reconciled_by_search(stripe_api, monkeypatch):
    invoice, method = _live_invoice("pm_1Visa")

    def crash(*args, **kwargs):
        raise SystemExit("killed")

    real = collection._record
    monkeypatch.setattr(collection, "_record", crash)
    with pytest.raises(SystemExit):
        _charge(invoice, method)
    monkeypatch.setattr(collection, "_record", real)
    invoice_payment_attempt(invoice_id=invoice.pk, now=T0)
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    paths = [r[1] for r in stripe_api.requests]
    assert paths.count("/v1/payment_intents") == 1
    assert "/v1/payment_intents/search" in paths


def _signed(body: dict, secret: str = WEBHOOK_SECRET, at: int | None = None):
    payload = json.dumps(body)
    at = at or int(time.time())
    mac = hmac.new(secret.encode(), f"{at}.{payload}".encode(), hashlib.sha256)
    return payload, f"t={at},v1={mac.hexdigest()}"


def _event(event_id: str, intent: dict) -> dict:
    return {
        "id": event_id,
        "object": "event",
        "type": "payment_intent.succeeded",
        "livemode": True,
        "created": int(time.time()),
        "api_version": "2025-05-28.basil",
        "data": {"object": intent},
    }


def test_stripe_webhooks_are_verified_deduplicated_and_recorded(
    stripe_api, monkeypatch
):
    invoice, method = _live_invoice("pm_1Visa")
    # Stripe answers "processing"; the webhook tells the outcome later.
    from payments.processors.base import ChargeResult
    from payments.processors.stripe import StripeProcessor

    monkeypatch.setattr(
        StripeProcessor,
        "charge",
        lambda self, request: ChargeResult(status="processing", reference="pi_3Later"),
    )
    attempt = _charge(invoice, method)
    assert attempt.status == "pending"
    intent = {
        "id": "pi_3Later",
        "object": "payment_intent",
        "amount": 5_000,
        "amount_received": 5_000,
        "currency": "usd",
        "status": "succeeded",
        "metadata": {"tally_idempotency_key": attempt.idempotency_key},
    }
    client = Client()
    url = "/webhooks/stripe/"
    payload, good = _signed(_event("evt_1", intent))
    _, bad = _signed(_event("evt_1", intent), secret="whsec_wrong")
    _, old = _signed(_event("evt_1", intent), at=int(time.time()) - 3_600)
    for signature in (bad, old, None):
        headers = {"HTTP_STRIPE_SIGNATURE": signature} if signature else {}
        response = client.post(url, payload, content_type="application/json", **headers)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "webhook_signature_invalid"
    assert ProcessorEvent.objects.count() == 0
    assert PaymentAttempt.objects.get().status == "pending"
    response = client.post(
        url, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=good
    )
    assert response.status_code == 200, response.content
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    replay = client.post(
        url, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=good
    )
    assert replay.status_code == 400
    assert replay.json()["error"]["code"] == "webhook_event_replayed"
    assert ProcessorEvent.objects.count() == 1
    assert Refund.objects.count() == 0


def _paid_live_invoice(amount: int = 5_000):
    invoice, method = _live_invoice("pm_1Visa", amount=amount)
    assert _charge(invoice, method).status == "succeeded"
    invoice.refresh_from_db()
    return invoice


def _credit_note(invoice, **params):
    from django.test import TestCase

    from billing.services.credit_notes import credit_note_create

    with modes.scope(True), TestCase.captureOnCommitCallbacks(execute=True):
        return credit_note_create(invoice=invoice, params=params, now=T0)


def test_a_credit_notes_refund_goes_to_stripe_once_with_the_notes_key(stripe_api):
    invoice = _paid_live_invoice(5_000)
    note = _credit_note(invoice, amount=1_250, refund_amount=1_250)
    refund = Refund.objects.get(credit_note=note)
    assert (refund.status, refund.processor_reference) == ("succeeded", "re_3Contract1")
    assert refund.livemode is True
    (post,) = [r for r in stripe_api.requests if r[:2] == ("POST", "/v1/refunds")]
    _, _, form, headers = post
    assert headers["Idempotency-Key"] == f"tally_{note.pk}_refund"
    assert form["amount"] == "1250"
    assert form["payment_intent"] == refund.payment_intent.latest_charge
    assert form["metadata[tally_idempotency_key]"] == f"tally_{note.pk}_refund"
    assert note.refunds == [
        {
            "amount_refunded": 1_250,
            "payment_record_refund": None,
            "refund": refund.pk,
            "type": "refund",
        }
    ]
    # Asked again (a worker that died before recording, days later): Stripe's
    # list finds the refund by its key, and nothing is refunded twice.
    Refund.objects.filter(pk=refund.pk).update(
        status="pending", processor_reference=None
    )
    refunds.refund_execute(refund_id=refund.pk, now=T0)
    refund.refresh_from_db()
    assert refund.status == "succeeded"
    posts = [r for r in stripe_api.requests if r[:2] == ("POST", "/v1/refunds")]
    assert len(posts) == 1
    assert len(stripe_api.refunds) == 1


def test_stripe_refusing_a_refund_fails_it_and_gives_the_amount_back(stripe_api):
    invoice = _paid_live_invoice(5_000)
    # Stripe's books: the charge was refunded from its dashboard already.
    stripe_api.refunds["outside"] = {
        "id": "re_3Outside",
        "object": "refund",
        "amount": 5_000,
        "payment_intent": PaymentAttempt.objects.get().payment_intent.latest_charge,
        "metadata": {},
        "status": "succeeded",
    }
    note = _credit_note(invoice, amount=1_000, refund_amount=1_000)
    refund = Refund.objects.get(credit_note=note)
    assert refund.status == "failed"
    assert refund.payment_intent.amount_refunded == 0


def test_a_pending_stripe_refund_is_finished_by_its_webhook(stripe_api, monkeypatch):
    from payments.processors.base import RefundResult
    from payments.processors.stripe import StripeProcessor

    invoice = _paid_live_invoice(5_000)
    monkeypatch.setattr(
        StripeProcessor,
        "refund",
        lambda self, **kwargs: RefundResult(status="pending", reference="re_3Later"),
    )
    note = _credit_note(invoice, amount=700, refund_amount=700)
    refund = Refund.objects.get(credit_note=note)
    assert (refund.status, refund.processor_reference) == ("pending", "re_3Later")
    body = {
        "id": "evt_refund_1",
        "object": "event",
        "type": "refund.updated",
        "livemode": True,
        "created": int(time.time()),
        "api_version": "2025-05-28.basil",
        "data": {
            "object": {
                "id": "re_3Later",
                "object": "refund",
                "amount": 700,
                "status": "succeeded",
                "metadata": {"tally_idempotency_key": refund.idempotency_key},
            }
        },
    }
    payload, signature = _signed(body)
    client = Client()
    response = client.post(
        "/webhooks/stripe/",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )
    assert response.status_code == 200, response.content
    refund.refresh_from_db()
    assert refund.status == "succeeded"
    # The Beat job never asks Stripe again for a refund it answered.
    from payments.services.refunds import refunds_pending_retry

    assert refunds_pending_retry(now=T0 + timedelta(days=1)) == 0
