"""Writes of the metering app. Other apps import from here.

- ``meter_create / meter_update / meter_deactivate / meter_reactivate``
- ``meter_event_create`` (one event) and ``meter_events_ingest_batch`` (many; the v2
  stream and bulk import): validated synchronously, appended, folded into the hourly
  rollups in the same transaction; ``meter_event_create_or_replay`` answers a retry;
  ``meter_events_ingest_documents`` is the fast path of bulk import and the v2 stream
  (``meter_events_documents_validate`` then ``meter_events_plain_store``, which bulk
  import calls apart to validate a chunk while it stores the one before).
- ``meter_event_cancel``: a cancellation adjustment.
- ``meter_event_session_create / _authenticate / meter_event_sessions_prune``: v2
  stream tokens.
"""

from metering.services.adjustments import meter_event_cancel
from metering.services.ingest import (
    BatchResult,
    EventInput,
    PlainBatch,
    meter_event_create,
    meter_event_create_or_replay,
    meter_events_documents_validate,
    meter_events_ingest_batch,
    meter_events_ingest_documents,
    meter_events_plain_store,
)
from metering.services.meters import (
    meter_create,
    meter_deactivate,
    meter_reactivate,
    meter_update,
)
from metering.services.sessions import (
    meter_event_session_authenticate,
    meter_event_session_create,
    meter_event_sessions_prune,
)

__all__ = [
    "BatchResult",
    "EventInput",
    "meter_create",
    "meter_deactivate",
    "meter_event_cancel",
    "meter_event_create",
    "meter_event_create_or_replay",
    "meter_event_session_authenticate",
    "meter_event_session_create",
    "meter_event_sessions_prune",
    "meter_events_ingest_batch",
    "meter_events_documents_validate",
    "meter_events_ingest_documents",
    "meter_events_plain_store",
    "PlainBatch",
    "meter_reactivate",
    "meter_update",
]
