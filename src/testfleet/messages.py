"""Controller <-> worker messages.

Every message is a JSON object with a ``t`` (type) key, framed on a stream socket as a
4-byte big-endian length followed by UTF-8 JSON. Reports cross the boundary through pytest's
``pytest_report_to_serializable`` output, never as pickled pytest objects.

Types (``PROTOCOL_VERSION`` is sent in ``hello`` and checked by the controller):

collector -> controller  ``collected`` (items: node ids, extra: {index: fields a node id does
                         not tell}, errors, deselected: node ids, hash, seconds), ``forked``
                         (worker, pid, seconds), ``exited`` (worker, pid, status), ``failed``
                         (exitcode, message)
controller -> collector  ``fork`` (worker, slot, env), ``kill`` (worker), ``shutdown``
worker -> controller     ``hello`` (worker, pid, caps, hash, version, token, launch: the
                         nonce of this start of the worker), ``start`` (i, ts, loc),
                         ``done`` (i, r: the test's reports, kw: its keyword names, next: [i, ts, loc] of
                         the test the worker started right after, standing for its ``start``),
                         ``warning`` (w), ``bye`` (peak_rss_kb, tests,
                         cpu_seconds)
controller -> worker     ``run`` (items: [i, ...]), ``flush`` (run what you hold, treat the
                         next item as unknown), ``stop`` (run what you hold, then exit),
                         ``halt`` (end the current test, drop what you hold, tear down, exit)
"""

from __future__ import annotations

import json
import json.scanner
import socket
import struct
from collections import deque
from json.encoder import encode_basestring_ascii as quote  # a str as JSON text, as the encoder writes it
from typing import Any

PROTOCOL_VERSION = 3
_scan = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]  # (text, index) -> (value, end)
_HEADER = struct.Struct(">I")
MAX_MESSAGE = 256 * 1024 * 1024

Message = dict[str, Any]


def _default(obj: object) -> object:
    # Anything JSON cannot hold (user_properties, odd longrepr parts) becomes its repr.
    return repr(obj)


# One encoder for every message: json.dumps with options builds a new one per call.
_ENCODER = json.JSONEncoder(default=_default, separators=(",", ":"))


def encode_json(obj: object) -> str:
    """JSON text as messages carry it (compact, ASCII, what JSON cannot hold as its repr):
    for a part encoded once and used twice (a worker's results: its journal and the wire)."""
    return _ENCODER.encode(obj)


def encode_names(names: list[str]) -> str:
    """``encode_json`` of a list of strings, without an encoder call (each costs microseconds)."""
    try:
        return "[" + ",".join(map(quote, names)) + "]"
    except TypeError:  # not all strings
        return encode_json(names)


def encode_location(location: Any) -> str:
    """``encode_json`` of a report location ``(path, lineno or None, domain)``, likewise."""
    if isinstance(location, tuple) and len(location) == 3:
        path, lineno, domain = location
        if isinstance(path, str) and isinstance(domain, str) and (lineno is None or type(lineno) is int):
            return f"[{quote(path)},{'null' if lineno is None else lineno},{quote(domain)}]"
    return encode_json(location)


def frame(text: str) -> bytes:
    """A message already encoded as JSON text, framed for the wire."""
    data = text.encode("utf-8", "surrogatepass")
    return _HEADER.pack(len(data)) + data


def encode(msg: Message) -> bytes:
    return frame(_ENCODER.encode(msg))


class ChannelClosed(Exception):
    """The peer closed the connection (or it broke)."""


class Channel:
    """A framed JSON message channel over a connected stream socket.

    ``send`` blocks until the message is written. ``feed``/``messages`` support a
    non-blocking reader driven by a selector (controller side); ``recv`` is a blocking read
    (worker side).
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buf = bytearray()
        self._ready: deque[Message] = deque()
        self._out: list[bytes] = []

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, msg: Message) -> None:
        self.send_frame(encode(msg))

    def send_frame(self, data: bytes) -> None:
        """``send`` for a message framed already (:func:`frame`)."""
        if self._out:
            self._out.append(data)
            self.flush()
            return
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise ChannelClosed(str(exc)) from exc

    def queue(self, msg: Message) -> None:
        """Buffer a message; it goes out with the next ``flush`` or ``send``."""
        self._out.append(encode(msg))

    def queue_frame(self, data: bytes) -> None:
        """``queue`` for a message framed already (:func:`frame`)."""
        self._out.append(data)

    def flush(self) -> None:
        if not self._out:
            return
        data = b"".join(self._out)
        self._out.clear()
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise ChannelClosed(str(exc)) from exc

    def _parse(self) -> None:
        # Every complete frame in the buffer, then one cut of the buffer (cutting after each
        # frame moves the rest every time). Each payload goes straight to the JSON scanner:
        # json.loads would check its type and match whitespace around it first, a
        # noticeable share of a tiny message's cost on the controller's hot path.
        buf = self._buf
        size = len(buf)
        pos = 0
        ready = self._ready
        try:
            while size - pos >= 4:
                (n,) = _HEADER.unpack_from(buf, pos)
                if n > MAX_MESSAGE:
                    raise ChannelClosed(f"message of {n} bytes exceeds the limit")
                end = pos + 4 + n
                if end > size:
                    break
                text = buf[pos + 4 : end].decode("utf-8", "surrogatepass")
                pos = end
                try:
                    obj, stop = _scan(text, 0)
                except StopIteration:
                    stop = -1
                if stop != len(text):
                    obj = json.loads(text)  # not one plain JSON value: json says what is wrong
                ready.append(obj)
        finally:
            if pos:
                del buf[:pos]

    def feed(self) -> bool:
        """Read what is available without blocking; False when the peer has closed."""
        try:
            data = self.sock.recv(1 << 20)
        except BlockingIOError:
            return True
        except OSError:
            return False
        if not data:
            return False
        self._buf += data
        self._parse()
        return True

    def messages(self) -> list[Message]:
        out = list(self._ready)
        self._ready.clear()
        return out

    def recv(self, timeout: float | None = None) -> Message | None:
        """Blocking read of one message; None on timeout. Raises ChannelClosed on EOF."""
        self.flush()
        while not self._ready:
            self.sock.settimeout(timeout)
            try:
                data = self.sock.recv(1 << 20)
            except TimeoutError:
                return None
            except OSError as exc:
                raise ChannelClosed(str(exc)) from exc
            finally:
                self.sock.settimeout(None)
            if not data:
                raise ChannelClosed("peer closed the connection")
            self._buf += data
            self._parse()
        return self._ready.popleft()

    def poll(self) -> list[Message]:
        """Non-blocking: everything that has arrived so far (worker side)."""
        while True:
            try:
                data = self.sock.recv(1 << 20, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                raise ChannelClosed(str(exc)) from exc
            if not data:
                if not self._ready:
                    raise ChannelClosed("peer closed the connection")
                break
            self._buf += data
            self._parse()
        return self.messages()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
