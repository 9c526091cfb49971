"""Metadata: Stripe's limits and update semantics."""

import pytest

from core.errors import InvalidRequest
from core.metadata import metadata_merge
from tests.helpers import error_of


@pytest.mark.parametrize(
    ("metadata", "fragment"),
    [
        ({f"k{i}": "v" for i in range(51)}, "50 keys"),
        ({"k" * 41: "v"}, "40 characters"),
        ({"key": "v" * 501}, "500 characters"),
        ({"a[b": "v"}, None),
    ],
)
def test_limits(api, metadata, fragment):
    response = api.post_json("/v1/customers", {"metadata": metadata})
    error = error_of(response)
    assert response.status_code == 400
    assert error["param"].startswith("metadata")
    if fragment:
        assert fragment in error["message"]


def test_at_the_limits_is_fine(api):
    metadata = {f"k{i:02d}": "v" for i in range(49)} | {"k" * 40: "v" * 500}
    response = api.post_json("/v1/customers", {"metadata": metadata})
    assert response.status_code == 200
    assert response.json()["metadata"] == metadata


def test_values_become_strings(api):
    body = api.post_json("/v1/customers", {"metadata": {"n": 5, "b": True}}).json()
    assert body["metadata"] == {"n": "5", "b": "true"}


def test_update_merges_deletes_and_clears(api):
    customer = api.post("/v1/customers", {"metadata": {"a": "1", "b": "2"}}).json()
    path = f"/v1/customers/{customer['id']}"
    assert api.post(path, {"metadata": {"b": "", "c": "3"}}).json()["metadata"] == {
        "a": "1",
        "c": "3",
    }
    assert api.post(path, {"metadata": ""}).json()["metadata"] == {}


def test_merge_past_fifty_keys_is_refused():
    current = {f"k{i}": "v" for i in range(50)}
    with pytest.raises(InvalidRequest):
        metadata_merge(current, {"one_more": "v"})
    assert metadata_merge(current, {"k0": "", "new": "v"})["new"] == "v"
