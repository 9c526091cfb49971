"""The fields every API object carries (``StripeObject``)."""

from django.db import models

from core import clock
from core.modes import LivemodeField, ModeManager


class StripeObject(models.Model):
    """Fields every API object carries: ``created``, ``livemode``, ``metadata``.

    Concrete models declare their own ``id`` with the object's Stripe prefix.
    Lists are ordered newest first by (created, id), which the index serves.
    """

    created = models.DateTimeField(default=clock.now, editable=False)
    livemode = LivemodeField()
    metadata = models.JSONField(default=dict, blank=True)
    objects = ModeManager()

    class Meta:
        abstract = True
        indexes = [
            models.Index(
                fields=["-created", "-id"], name="%(app_label)s_%(class)s_page"
            )
        ]
