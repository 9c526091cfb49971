"""The embedded broker: a worker never reads a message its sender is still writing.

kombu's own filesystem transport creates the file, then writes it; a worker that
lists the folder in between decodes an empty message and stops (seen in the
10-minute soak: the embedded worker died two seconds in).
"""

from __future__ import annotations

import os

import pytest
from kombu import Connection
from kombu.transport import filesystem

from config import broker_files
from config.celery import app as celery_app


@pytest.fixture
def folders(tmp_path):
    for name in ("in", "processed", "control"):
        (tmp_path / name).mkdir()
    return {
        "data_folder_in": str(tmp_path / "in"),
        "data_folder_out": str(tmp_path / "in"),
        "processed_folder": str(tmp_path / "processed"),
        "control_folder": str(tmp_path / "control"),
        "store_processed": True,
    }


def _channel(folders, transport=None):
    connection = Connection("filesystem://", transport_options=folders)
    if transport is not None:
        connection = Connection(transport=transport, transport_options=folders)
    return connection, connection.default_channel


def test_filesystem_urls_use_the_whole_message_transport():
    connection = celery_app.connection_for_write("filesystem://")
    assert isinstance(connection.transport, broker_files.Transport)


def test_a_message_being_written_is_invisible_to_readers(folders, monkeypatch):
    connection, channel = _channel(folders)
    seen_while_writing = []
    replace = os.replace

    def replace_after_a_look(source, target):
        assert open(source, "rb").read()  # written whole before the rename
        seen_while_writing.append(channel._size("default"))
        with pytest.raises(filesystem.Empty):
            channel._get("default")
        replace(source, target)

    monkeypatch.setattr(broker_files.os, "replace", replace_after_a_look)
    channel._put("default", {"body": "hello"})
    assert seen_while_writing == [0]
    assert channel._get("default") == {"body": "hello"}
    connection.release()


def test_kombus_own_writer_shows_a_reader_an_empty_message(folders):
    """Why the transport exists: a file created but not yet written breaks a reader."""
    connection, channel = _channel(folders, transport=filesystem.Transport)
    name = f"1_{'0' * 8}.default.msg"
    open(os.path.join(folders["data_folder_in"], name), "wb").close()
    with pytest.raises(ValueError, match="Expecting value"):
        channel._get("default")
    connection.release()
