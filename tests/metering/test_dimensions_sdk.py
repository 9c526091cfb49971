"""The official stripe SDK with dimensions: a meter with ``dimension_payload_keys``
(the installed SDK has no typed param for it and passes it through), events with
dimension values on v1 and the v2 stream, summaries grouped by dimension, and a
price on a segment (Tally's ``recurring[meter_segment_conditions]``)."""

from datetime import UTC, datetime, timedelta

import pytest


def _minute(moment: datetime) -> int:
    return int(moment.replace(second=0, microsecond=0).timestamp())


def test_meter_with_dimensions_through_the_sdk(stripe_sdk, stripe_client, live_server):
    stripe = stripe_sdk
    customer = stripe.Customer.create(name="Jenny Rosen")
    meter = stripe.billing.Meter.create(
        display_name="Tokens",
        event_name="llm_tokens",
        default_aggregation={"formula": "sum"},
        dimension_payload_keys=["model"],
    )
    assert meter.dimension_payload_keys == ["model"]
    for model, value in [("large", "100"), ("small", "7"), ("large", "20")]:
        stripe.billing.MeterEvent.create(
            event_name="llm_tokens",
            payload={"stripe_customer_id": customer.id, "value": value, "model": model},
        )
    session = stripe_client.v2.billing.meter_event_session.create()
    streamer = stripe.StripeClient(
        session.authentication_token,
        base_addresses={"api": live_server.url, "meter_events": live_server.url},
        max_network_retries=0,
    )
    streamer.v2.billing.meter_event_stream.create(
        {
            "events": [
                {
                    "event_name": "llm_tokens",
                    "identifier": f"s-{index}",
                    "payload": {
                        "stripe_customer_id": customer.id,
                        "value": "1",
                        "model": "small",
                    },
                }
                for index in range(3)
            ]
        }
    )
    now = datetime.now(UTC)
    summaries = stripe.billing.Meter.list_event_summaries(
        meter.id,
        customer=customer.id,
        start_time=_minute(now - timedelta(hours=1)),
        end_time=_minute(now + timedelta(minutes=2)),
        dimension_group_by_keys=["model"],
    )
    assert [(s.dimensions["model"], s.aggregated_value) for s in summaries.data] == [
        ("large", 120),
        ("small", 10),
    ]
    price = stripe.Price.create(
        currency="usd",
        unit_amount=2,
        product_data={"name": "Large model tokens"},
        recurring={
            "interval": "month",
            "usage_type": "metered",
            "meter": meter.id,
            "meter_segment_conditions": [{"dimension": "model", "value": "large"}],
        },
    )
    assert price.recurring.meter_segment_conditions[0].value == "large"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe.billing.Meter.list_event_summaries(
            meter.id,
            customer=customer.id,
            start_time=_minute(now - timedelta(hours=1)),
            end_time=_minute(now + timedelta(minutes=2)),
            dimension_group_by_keys=["colour"],
        )
    assert refused.value.param == "dimension_group_by_keys[colour]"
