"""DRF parsers for Stripe's bodies: nested form brackets, and JSON, both bounded.

A body over Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is refused (413) from its
``Content-Length`` before a byte is read, and never read past the limit when the
length is unknown; nesting past ``params.MAX_DEPTH`` is a 400.
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework.parsers import BaseParser, JSONParser, MultiPartParser

from core.api.params import decode_form, load_json, parse_nested


def _content_length(parser_context) -> int:
    request = (parser_context or {}).get("request")
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) if request else 0
    except ValueError:
        return 0


def check_length(parser_context) -> None:
    """Refuse a body whose declared length is over the limit, before reading it."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and _content_length(parser_context) > limit:
        raise RequestDataTooBig("Request body exceeded DATA_UPLOAD_MAX_MEMORY_SIZE.")


def read_body(stream, parser_context) -> bytes:
    """The whole body, within the limit."""
    if stream is None:
        return b""
    check_length(parser_context)
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None:
        return stream.read()
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise RequestDataTooBig("Request body exceeded DATA_UPLOAD_MAX_MEMORY_SIZE.")
    return body


class StripeFormParser(BaseParser):
    media_type = "application/x-www-form-urlencoded"

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", "utf-8")
        body = read_body(stream, parser_context)
        return parse_nested(decode_form(body, encoding))


class StripeJSONParser(JSONParser):
    """JSON bodies, refused when too large or nested too deeply."""

    def parse(self, stream, media_type=None, parser_context=None):
        return load_json(read_body(stream, parser_context))


class StripeMultiPartParser(MultiPartParser):
    """Multipart bodies (some HTTP clients' default), nested the same way."""

    def parse(self, stream, media_type=None, parser_context=None):
        # Django's multipart parser streams files to disk without a limit.
        check_length(parser_context)
        parsed = super().parse(stream, media_type, parser_context)
        return parse_nested(
            (key, value) for key, values in parsed.data.lists() for value in values
        )
