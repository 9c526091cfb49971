"""Properties of the form parser (``core.api.params``), with hypothesis.

- What the official ``stripe`` SDK encodes, Tally decodes back to the same
  parameters: nested objects, lists of values, lists of objects, any text.
- Any body at all, bytes or JSON, is either parameters or a 400 (``InvalidRequest``):
  never another exception (a 500), however deep, odd or malformed.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from hypothesis import given, settings
from hypothesis import strategies as st
from stripe._encode import _api_encode

from core.api.params import MAX_DEPTH, decode_form, load_json, parse_nested
from core.errors import InvalidRequest

# Names as Stripe's: no brackets; not all digits (those are list indexes).
names = st.from_regex(r"[a-z_][a-z0-9_]{0,11}", fullmatch=True)
leaves = st.text(max_size=20)


def _params(depth: int):
    """Nested parameters the SDK can encode: no empty object or list (a form has no
    way to send one), at most ``depth`` levels."""
    if depth == 0:
        return leaves
    inner = _params(depth - 1)
    return st.one_of(
        leaves,
        st.dictionaries(names, inner, min_size=1, max_size=4),
        st.lists(leaves, min_size=1, max_size=4),
        st.lists(
            st.dictionaries(names, _params(depth - 2) if depth > 1 else leaves,
                            min_size=1, max_size=3),
            min_size=1,
            max_size=3,
        ),
    )  # fmt: skip


top_level = st.dictionaries(names, _params(4), max_size=5)


@settings(max_examples=300, deadline=None)
@given(top_level)
def test_what_the_sdk_encodes_decodes_to_the_same_parameters(params):
    body = urlencode(list(_api_encode(params))).encode()
    assert parse_nested(decode_form(body)) == params


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_form_body_is_parameters_or_a_400(body):
    try:
        parsed = parse_nested(decode_form(body))
    except InvalidRequest:
        return
    assert isinstance(parsed, dict)


# Keys built from the characters that matter to the parser.
keys = st.text(alphabet="ab0[]", min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(keys, leaves), max_size=8))
def test_any_keys_are_parameters_or_a_400(pairs):
    try:
        parsed = parse_nested(pairs)
    except InvalidRequest:
        return
    assert isinstance(parsed, dict)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=5000), st.sampled_from(["[", "{"]))
def test_json_of_any_depth_is_parameters_or_a_400(depth, opener):
    closer = "]" if opener == "[" else "}"
    inner = '"x": ' if opener == "{" else ""
    body = (opener + inner) * (depth - 1) + opener + closer + closer * (depth - 1)
    try:
        value = load_json(body)
    except InvalidRequest:
        assert depth > MAX_DEPTH
        return
    assert depth <= MAX_DEPTH
    assert json.dumps(value)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=3000))
def test_form_keys_of_any_depth_are_parameters_or_a_400(depth):
    key = "a" + "[b]" * depth
    try:
        parsed = parse_nested([(key, "1")])
    except InvalidRequest:
        assert depth > MAX_DEPTH
        return
    assert depth <= MAX_DEPTH
    node = parsed["a"]
    for _ in range(depth - 1):
        node = node["b"]
    assert node == {"b": "1"}


def test_names_that_are_all_digits_are_parameters_not_a_list(api):
    """Found by the properties above: "0=x" made the whole parameters a list, which
    the views were handed."""
    assert parse_nested([("0", "x"), ("1", "y")]) == {"0": "x", "1": "y"}
    for body in ("0=x", "0=x&1=y", "0[a]=x"):
        response = api.client.post(
            "/v1/customers",
            body,
            content_type="application/x-www-form-urlencoded",
            HTTP_AUTHORIZATION=f"Bearer {api.secret}",
        )
        assert response.status_code == 400, (body, response.content)
        assert response.json()["error"]["type"] == "invalid_request_error"
