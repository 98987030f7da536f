"""Message framing over a real socketpair: round trips, batching, partial reads, EOF."""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Iterator

import pytest

from testfleet import messages
from testfleet.messages import Channel, ChannelClosed, encode


@pytest.fixture
def pair() -> Iterator[tuple[Channel, Channel]]:
    a, b = socket.socketpair()
    b.setblocking(False)  # the reader side, as the controller's selector loop uses it
    yield Channel(a), Channel(b)
    a.close()
    b.close()


def test_encode_is_a_big_endian_length_and_compact_json() -> None:
    assert encode({"t": "start", "i": 3}) == b"\x00\x00\x00\x13" + b'{"t":"start","i":3}'
    big = encode({"t": "x" * 300})
    assert big[:4] == b"\x00\x00\x01\x34"  # 308 = len('{"t":"') + 300 + len('"}')
    assert struct.unpack(">I", big[:4])[0] == len(big) - 4 == 308
    assert json.loads(big[4:]) == {"t": "x" * 300}


def test_send_then_recv_round_trip(pair: tuple[Channel, Channel]) -> None:
    writer, reader = pair
    reader.sock.setblocking(True)
    msg = {"t": "report", "i": 7, "r": {"nested": [1, 2.5, None, True], "text": "héllo"}}
    writer.send(msg)
    assert reader.recv(timeout=5) == msg


def test_recv_times_out_with_none(pair: tuple[Channel, Channel]) -> None:
    _, reader = pair
    assert reader.recv(timeout=0.01) is None


def test_many_messages_in_one_read(pair: tuple[Channel, Channel]) -> None:
    writer, reader = pair
    writer.sock.sendall(b"".join(encode({"t": "start", "i": i}) for i in range(5)))
    assert reader.feed() is True
    assert reader.messages() == [{"t": "start", "i": i} for i in range(5)]
    assert reader.messages() == []


def test_message_split_across_reads(pair: tuple[Channel, Channel]) -> None:
    writer, reader = pair
    data = encode({"t": "report", "i": 1, "r": "x" * 100})
    for piece in (data[:2], data[2:4], data[4:50]):
        writer.sock.sendall(piece)
        assert reader.feed() is True
        assert reader.messages() == []
    writer.sock.sendall(data[50:] + encode({"t": "finish", "i": 1})[:3])
    assert reader.feed() is True
    assert reader.messages() == [{"t": "report", "i": 1, "r": "x" * 100}]


def test_feed_with_nothing_to_read_is_true_and_empty(pair: tuple[Channel, Channel]) -> None:
    _, reader = pair
    assert reader.feed() is True
    assert reader.messages() == []


def test_queue_waits_for_flush(pair: tuple[Channel, Channel]) -> None:
    writer, reader = pair
    writer.queue({"t": "run", "items": [1]})
    writer.queue({"t": "run", "items": [2]})
    reader.feed()
    assert reader.messages() == []
    writer.flush()
    reader.feed()
    assert reader.messages() == [{"t": "run", "items": [1]}, {"t": "run", "items": [2]}]


def test_send_flushes_queued_messages_first(pair: tuple[Channel, Channel]) -> None:
    writer, reader = pair
    writer.queue({"t": "run", "items": [1]})
    writer.send({"t": "stop"})
    reader.feed()
    assert reader.messages() == [{"t": "run", "items": [1]}, {"t": "stop"}]
    writer.flush()  # nothing left: sends nothing
    reader.feed()
    assert reader.messages() == []


def test_recv_flushes_its_own_queue_before_waiting(pair: tuple[Channel, Channel]) -> None:
    reader, writer = pair  # a is blocking: use it as the blocking worker side
    writer.sock.setblocking(True)
    reader.queue({"t": "hello"})
    assert reader.recv(timeout=0.01) is None
    assert writer.recv(timeout=5) == {"t": "hello"}


def test_eof_makes_feed_false_and_recv_raise(pair: tuple[Channel, Channel]) -> None:
    writer, reader = pair
    writer.send({"t": "bye"})
    writer.close()
    assert reader.feed() is True
    assert reader.messages() == [{"t": "bye"}]
    assert reader.feed() is False
    reader.sock.setblocking(True)
    with pytest.raises(ChannelClosed, match="peer closed the connection"):
        reader.recv(timeout=5)


def test_poll_returns_what_arrived_before_eof_then_raises(pair: tuple[Channel, Channel]) -> None:
    writer, reader = pair
    writer.send({"t": "run", "items": [4]})
    writer.close()
    assert reader.poll() == [{"t": "run", "items": [4]}]
    with pytest.raises(ChannelClosed):
        reader.poll()


def test_poll_with_nothing_is_empty(pair: tuple[Channel, Channel]) -> None:
    _, reader = pair
    assert reader.poll() == []


def test_send_to_a_closed_peer_raises_channel_closed(pair: tuple[Channel, Channel]) -> None:
    writer, reader = pair
    reader.close()
    with pytest.raises(ChannelClosed):
        for _ in range(100):  # the first write may land in the buffer on some kernels
            writer.send({"t": "start", "i": 0})


def test_oversized_length_header_closes_the_channel(pair: tuple[Channel, Channel]) -> None:
    writer, reader = pair
    writer.sock.sendall(struct.pack(">I", messages.MAX_MESSAGE + 1))
    with pytest.raises(ChannelClosed, match="exceeds the limit"):
        reader.feed()


def test_non_json_values_become_their_repr(pair: tuple[Channel, Channel]) -> None:
    writer, reader = pair

    class Odd:
        def __repr__(self) -> str:
            return "<odd thing>"

    writer.send({"t": "report", "props": [Odd(), {1, 2}], "b": b"\x00"})
    reader.feed()
    assert reader.messages() == [{"t": "report", "props": ["<odd thing>", "{1, 2}"], "b": "b'\\x00'"}]


def test_lone_surrogates_survive_the_round_trip(pair: tuple[Channel, Channel]) -> None:
    writer, reader = pair
    text = "bad byte \udcff and emoji \U0001f600"
    writer.send({"t": "warning", "w": text})
    reader.feed()
    assert reader.messages() == [{"t": "warning", "w": text}]


def test_fileno_is_the_socket_fileno(pair: tuple[Channel, Channel]) -> None:
    writer, _ = pair
    assert writer.fileno() == writer.sock.fileno()


@pytest.mark.parametrize(
    "value",
    [
        ["t.py", 12, 'TestA.test_b[\u2603-"q"\n]'],
        ["t.py", None, "t.py"],
        ["t.py", True, "x"],
        ["t.py", 1.5, "x"],
        ["t.py", 1, 2],
        [1, "x"],
    ],
)
def test_the_fast_encoders_write_what_the_message_encoder_writes(value: list[object]) -> None:
    """A worker's results are encoded once, in parts, for its journal and the wire: the parts
    must be the JSON the controller would have got from one ``encode``."""
    assert messages.encode_location(tuple(value)) == messages.encode_json(value)
    assert messages.encode_names(value) == messages.encode_json(value)  # type: ignore[arg-type]


def test_a_done_frame_is_the_message_encode_makes(pair: tuple[Channel, Channel]) -> None:
    from testfleet.worker.loop import Done

    reports = [["setup", "passed", 0.001, 1.0, 1.001], {"when": "call", "longrepr": "E  boom\n\u2603"}]
    done = Done(4, messages.encode_json(reports), messages.encode_names(["test_x", "t.py"]))
    location = messages.encode_location(("t.py", 7, "test_y"))
    expected = {"t": "done", "i": 4, "r": reports, "kw": ["test_x", "t.py"]}
    assert done.frame() == encode(expected)
    assert done.frame(5, 1733380000.123456, location) == encode(
        {**expected, "next": [5, 1733380000.123456, ("t.py", 7, "test_y")]}
    )
    writer, reader = pair
    reader.sock.setblocking(True)
    writer.queue_frame(done.frame())
    writer.send_frame(done.frame(5, 2.5, location))
    assert reader.recv(timeout=5) == expected
    assert reader.recv(timeout=5) == {**expected, "next": [5, 2.5, ["t.py", 7, "test_y"]]}
