"""Processors by mode: ``TALLY_PAYMENT_PROCESSORS = {"test": ..., "live": ...}``.

Each entry is a dotted path to a class with the ``Processor`` methods
(``payments.processors.base``); one instance per name is kept.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from payments.processors.base import Processor


@cache
def _instance(path: str) -> Processor:
    return import_string(path)()


def processor_for(*, livemode: bool) -> Processor:
    """The processor that moves money in ``livemode``."""
    path = settings.TALLY_PAYMENT_PROCESSORS["live" if livemode else "test"]
    return _instance(path)


def processor_named(name: str) -> Processor:
    """The processor a payment method or attempt was made with."""
    for path in settings.TALLY_PAYMENT_PROCESSORS.values():
        processor = _instance(path)
        if processor.name == name:
            return processor
    raise LookupError(name)
