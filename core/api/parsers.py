"""DRF parser for Stripe's form-encoded bodies with nested brackets."""

from urllib.parse import parse_qsl

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, MultiPartParser

from core.api.params import parse_nested


class StripeFormParser(BaseParser):
    media_type = "application/x-www-form-urlencoded"

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", "utf-8")
        try:
            body = stream.read().decode(encoding) if stream else ""
        except UnicodeDecodeError as exc:
            raise ParseError("The request body is not valid UTF-8.") from exc
        return parse_nested(parse_qsl(body, keep_blank_values=True))


class StripeMultiPartParser(MultiPartParser):
    """Multipart bodies (some HTTP clients' default), nested the same way."""

    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        return parse_nested(
            (key, value) for key, values in parsed.data.lists() for value in values
        )
