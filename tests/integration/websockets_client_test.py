"""The echo server against Python's `websockets` (Debian's python3-websockets).

Run by websockets_client_test.sh, which starts //examples/echo:echo and
passes its address in ECHO_URL. Two kinds of cases:

- LibraryClientTest: the library's own asyncio client, as an application
  would use it - echoes of every size class, compression on and off (and
  its parameters), fragmented messages, 16 MiB messages and the 1009 limit,
  ping/pong, the close handshake.
- RawFrameTest: frames built by hand (most of them ones a correct client
  never sends) over a plain socket, with the library's sans-I/O client
  doing the opening handshake and parsing what the server answers - the
  close-code rules, masking, reserved bits and opcodes, fragmentation
  rules, control frames between fragments, UTF-8 checks.
- HttpEndpointTest: /healthz, /metrics and refusals over plain HTTP.
"""

import asyncio
import os
import random
import socket
import struct
import unittest
import urllib.error
import urllib.request

import websockets
from websockets.client import ClientConnection
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
)
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

URL = os.environ["ECHO_URL"]  # ws://127.0.0.1:PORT/
HOST, PORT = URL[len("ws://"):].rstrip("/").rsplit(":", 1)
PORT = int(PORT)
TIMEOUT = float(os.environ.get("CLIENT_TIMEOUT", "60"))
MIB = 1 << 20
LIMIT = 16 * MIB  # the server's default --max_message_size

rng = random.Random(6)


def text_of(size):
    """ASCII text of `size` bytes that compresses a little, like prose."""
    return "".join(rng.choice("abcdefghij klmnop") for _ in range(size))


def bytes_of(size):
    return rng.randbytes(size)


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, TIMEOUT))


def connect(**kwargs):
    kwargs.setdefault("max_size", None)
    kwargs.setdefault("open_timeout", TIMEOUT)
    kwargs.setdefault("close_timeout", TIMEOUT)
    kwargs.setdefault("ping_interval", None)  # no keep-alive pings of its own
    return websockets.connect(URL, **kwargs)


class LibraryClientTest(unittest.TestCase):
    def echo_all(self, messages, **kwargs):
        async def session():
            async with connect(**kwargs) as ws:
                echoed = []
                for message in messages:
                    await ws.send(message)
                    echoed.append(await ws.recv())
                return echoed, ws.response_headers

        return run(session())

    def test_text_and_binary_messages_of_every_length_encoding_come_back(self):
        # 7-bit, 16-bit and 64-bit payload lengths, and their edges.
        sizes = [0, 1, 125, 126, 127, 65535, 65536, MIB]
        for compression in ("deflate", None):
            with self.subTest(compression=compression):
                messages = [text_of(n) for n in sizes] + [bytes_of(n) for n in sizes]
                echoed, _ = self.echo_all(messages, compression=compression)
                self.assertEqual(echoed, messages)

    def test_compression_is_negotiated_only_when_offered(self):
        _, headers = self.echo_all(["x"], compression="deflate")
        self.assertIn("permessage-deflate", headers.get("Sec-WebSocket-Extensions", ""))
        _, headers = self.echo_all(["x"], compression=None)
        self.assertNotIn("Sec-WebSocket-Extensions", headers)

    def test_compression_parameters_are_honoured(self):
        factory = ClientPerMessageDeflateFactory(
            server_no_context_takeover=True,
            client_no_context_takeover=True,
            server_max_window_bits=10,
            client_max_window_bits=9,
        )
        messages = [text_of(5000) for _ in range(5)] + [bytes_of(70000)]
        echoed, headers = self.echo_all(messages, extensions=[factory], compression=None)
        self.assertEqual(echoed, messages)
        answer = headers["Sec-WebSocket-Extensions"]
        self.assertIn("server_no_context_takeover", answer)
        self.assertIn("server_max_window_bits=10", answer)

    def test_fragmented_messages_come_back_whole(self):
        for compression in ("deflate", None):
            with self.subTest(compression=compression):

                async def session():
                    async with connect(compression=compression) as ws:
                        await ws.send(["Hel", "lo, ", "", "world"])
                        text = await ws.recv()
                        chunks = [bytes_of(n) for n in (1, 70000, 3, 126)]
                        await ws.send(chunks)
                        return text, await ws.recv(), b"".join(chunks)

                text, binary, expected = run(session())
                self.assertEqual(text, "Hello, world")
                self.assertEqual(binary, expected)

    def test_16_mib_messages_come_back(self):
        cases = [(bytes_of(LIMIT), None), (text_of(LIMIT), "deflate")]
        for message, compression in cases:
            with self.subTest(type=type(message).__name__, compression=compression):
                echoed, _ = self.echo_all([message], compression=compression)
                self.assertEqual(len(echoed[0]), LIMIT)
                self.assertTrue(echoed[0] == message)

    def test_a_message_over_16_mib_fails_the_connection_with_1009(self):
        async def session():
            async with connect(compression=None) as ws:
                # The server may fail the connection as soon as it reads the
                # frame header, while the client is still sending.
                with self.assertRaises(websockets.ConnectionClosedError):
                    await ws.send(bytes(LIMIT + 1))
                    await ws.recv()
                return ws.close_code

        self.assertEqual(run(session()), 1009)

    def test_a_ping_is_answered_with_a_pong(self):
        async def session():
            async with connect() as ws:
                for payload in (b"", b"hello", bytes(125)):
                    pong = await ws.ping(payload)
                    await asyncio.wait_for(pong, TIMEOUT)
                await ws.send("still open")
                return await ws.recv()

        self.assertEqual(run(session()), "still open")

    def test_a_close_from_the_client_is_echoed(self):
        async def session(code):
            async with connect() as ws:
                await ws.send("bye")
                await ws.recv()
                await ws.close(code, "done")
                return ws.close_code

        for code in (1000, 1001, 1012, 1013, 1014, 3000, 4999):
            with self.subTest(code=code):
                self.assertEqual(run(session(code)), code)


# ---- raw frames ----------------------------------------------------------


def frame(opcode, payload=b"", fin=True, rsv=0, mask=True):
    """Serializes a frame without any validity check. rsv: RSV1-3 as 4/2/1."""
    head = (0x80 if fin else 0) | (rsv << 4) | opcode
    length = len(payload)
    if length < 126:
        out = struct.pack("!BB", head, (0x80 if mask else 0) | length)
    elif length < 65536:
        out = struct.pack("!BBH", head, (0x80 if mask else 0) | 126, length)
    else:
        out = struct.pack("!BBQ", head, (0x80 if mask else 0) | 127, length)
    if not mask:
        return out + payload
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return out + key + masked


def close_payload(code, reason=b""):
    return struct.pack("!H", code) + reason


class RawSession:
    """A socket after the opening handshake, the library parsing replies."""

    def __init__(self):
        self.sock = socket.create_connection((HOST, PORT), timeout=TIMEOUT)
        self.protocol = ClientConnection(parse_uri(URL), max_size=None)
        self.protocol.send_request(self.protocol.connect())
        for data in self.protocol.data_to_send():
            self.sock.sendall(data)
        self.events = []
        self.eof = False
        while not any(isinstance(e, Response) for e in self.events):
            if self.eof:
                raise ConnectionError("the server closed during the handshake")
            self.read()
        if self.protocol.handshake_exc is not None:
            raise self.protocol.handshake_exc
        self.events = [e for e in self.events if isinstance(e, Frame)]

    def read(self):
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if data:
            self.protocol.receive_data(data)
        else:
            self.protocol.receive_eof()
            self.eof = True
        self.events.extend(self.protocol.events_received())

    def send(self, *frames):
        self.sock.sendall(b"".join(frames))

    def next_frame(self):
        """The next frame from the server, None at the end of the stream."""
        while not self.events and not self.eof:
            self.read()
        return self.events.pop(0) if self.events else None

    def until_closed(self):
        """Frames up to the end of the stream, and the server's Close."""
        while not self.eof:
            self.read()
        self.sock.close()
        frames, self.events = self.events, []
        return frames, self.protocol.close_rcvd

    def close(self):
        self.sock.close()


class RawFrameTest(unittest.TestCase):
    def assertClosedWith(self, frames, code):
        session = RawSession()
        session.send(*frames)
        _, close = session.until_closed()
        self.assertIsNotNone(close, "the server closed without a Close frame")
        self.assertEqual(close.code, code)
        return close

    def test_close_codes_a_client_may_send_are_echoed(self):
        for code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                     1012, 1013, 1014, 3000, 3999, 4000, 4999):
            with self.subTest(code=code):
                self.assertClosedWith(
                    [frame(Opcode.CLOSE, close_payload(code, b"reason"))], code)

    def test_close_codes_no_endpoint_may_send_fail_with_1002(self):
        for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535):
            with self.subTest(code=code):
                self.assertClosedWith([frame(Opcode.CLOSE, close_payload(code))], 1002)

    def test_a_close_without_code_is_answered_with_a_normal_close(self):
        # RFC 6455 5.5.1: the answer "typically" echoes the code; with none
        # to echo (1005 may not be sent) the server answers 1000.
        session = RawSession()
        session.send(frame(Opcode.CLOSE))
        _, close = session.until_closed()
        self.assertIn(close.code, (1000, 1005))

    def test_a_close_with_a_one_byte_payload_fails_with_1002(self):
        self.assertClosedWith([frame(Opcode.CLOSE, b"\x03")], 1002)

    def test_a_close_reason_that_is_not_utf8_fails_with_1007(self):
        self.assertClosedWith(
            [frame(Opcode.CLOSE, close_payload(1000, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xed\xa0\x80"))],
            1007)

    def test_a_close_reason_of_124_bytes_is_too_long_and_fails_with_1002(self):
        self.assertClosedWith([frame(Opcode.CLOSE, close_payload(1000, b"a" * 124))], 1002)

    def test_messages_after_a_close_are_not_answered(self):
        session = RawSession()
        session.send(frame(Opcode.CLOSE, close_payload(1000)),
                     frame(Opcode.TEXT, b"too late"))
        frames, close = session.until_closed()
        self.assertEqual(close.code, 1000)
        self.assertFalse([f for f in frames if isinstance(f, Frame) and f.opcode == Opcode.TEXT])

    def test_a_connection_failed_while_the_client_still_sends_ends_without_a_reset(self):
        # RFC 6455 7.1.1: the server fails the connection at the first frame
        # while the client is still sending; it must take the rest and close
        # cleanly. A server that closed its socket with that input unread
        # would make the kernel reset the connection, which can destroy the
        # Close frame before the client reads it.
        session = RawSession()
        session.send(frame(Opcode.TEXT, b"bare", mask=False))
        session.send(bytes(4 * MIB))  # a reset fails the test here...
        received = b""
        while True:
            data = session.sock.recv(65536)  # ...or here
            if not data:
                break
            received += data
        # The server ended its side; the client answers the Close and ends
        # its own, still without a reset.
        session.send(frame(Opcode.CLOSE, close_payload(1002)))
        session.sock.shutdown(socket.SHUT_WR)
        session.close()
        self.assertGreaterEqual(len(received), 4, received)
        self.assertEqual(received[0], 0x88, received)  # FIN + Close, and nothing else
        self.assertEqual(struct.unpack("!H", received[2:4])[0], 1002)
        self.assertEqual(len(received), 2 + received[1])

    def test_an_unmasked_client_frame_fails_with_1002(self):
        self.assertClosedWith([frame(Opcode.TEXT, b"hi", mask=False)], 1002)

    def test_reserved_bits_fail_with_1002(self):
        # RSV1 too: permessage-deflate was not negotiated on a raw session.
        for rsv in (4, 2, 1):
            with self.subTest(rsv=rsv):
                self.assertClosedWith([frame(Opcode.TEXT, b"hi", rsv=rsv)], 1002)

    def test_reserved_opcodes_fail_with_1002(self):
        for opcode in (3, 4, 5, 6, 7, 11, 12, 13, 14, 15):
            with self.subTest(opcode=opcode):
                self.assertClosedWith([frame(opcode, b"")], 1002)

    def test_a_fragmented_control_frame_fails_with_1002(self):
        self.assertClosedWith([frame(Opcode.PING, b"a", fin=False),
                               frame(Opcode.CONT, b"b")], 1002)

    def test_a_control_frame_over_125_bytes_fails_with_1002(self):
        self.assertClosedWith([frame(Opcode.PING, b"p" * 126)], 1002)

    def test_a_continuation_without_a_message_fails_with_1002(self):
        self.assertClosedWith([frame(Opcode.CONT, b"orphan")], 1002)

    def test_a_new_message_inside_a_fragmented_one_fails_with_1002(self):
        self.assertClosedWith([frame(Opcode.TEXT, b"first", fin=False),
                               frame(Opcode.TEXT, b"second")], 1002)

    def test_invalid_utf8_in_a_text_message_fails_with_1007(self):
        self.assertClosedWith([frame(Opcode.TEXT, b"ok \xff\xfe")], 1007)

    def test_invalid_utf8_fails_with_1007_before_the_message_ends(self):
        # Only the first fragment is sent: the server must not wait for the
        # rest of the message to notice.
        self.assertClosedWith([frame(Opcode.TEXT, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xed\xa0\x80", fin=False)], 1007)

    def test_utf8_split_across_fragments_is_accepted(self):
        euro = "€ is three bytes".encode()
        session = RawSession()
        session.send(frame(Opcode.TEXT, euro[:1], fin=False),
                     frame(Opcode.CONT, euro[1:2], fin=False),
                     frame(Opcode.CONT, euro[2:]))
        echoed = session.next_frame()
        session.close()
        self.assertEqual((echoed.opcode, echoed.data), (Opcode.TEXT, euro))

    def test_pings_between_fragments_are_answered_and_the_message_survives(self):
        session = RawSession()
        session.send(frame(Opcode.TEXT, b"Hello", fin=False),
                     frame(Opcode.PING, b"mid-message"),
                     frame(Opcode.CONT, b", ", fin=False),
                     frame(Opcode.PONG, b"unsolicited"),
                     frame(Opcode.CONT, b"world"))
        first, second = session.next_frame(), session.next_frame()
        session.close()
        self.assertEqual((first.opcode, first.data), (Opcode.PONG, b"mid-message"))
        self.assertEqual((second.opcode, second.data), (Opcode.TEXT, b"Hello, world"))

    def test_a_ping_of_125_bytes_is_answered_with_the_same_payload(self):
        session = RawSession()
        payload = bytes(range(125))
        session.send(frame(Opcode.PING, payload))
        pong = session.next_frame()
        session.close()
        self.assertEqual((pong.opcode, pong.data), (Opcode.PONG, payload))

    def test_an_unsolicited_pong_is_ignored(self):
        session = RawSession()
        session.send(frame(Opcode.PONG, b"nobody asked"), frame(Opcode.BINARY, b"\x00\x01"))
        echoed = session.next_frame()
        session.close()
        self.assertEqual((echoed.opcode, echoed.data), (Opcode.BINARY, b"\x00\x01"))

    def test_all_three_length_encodings_from_a_raw_client_are_echoed(self):
        session = RawSession()
        for size in (125, 126, 65535, 65536):
            payload = bytes_of(size)
            session.send(frame(Opcode.BINARY, payload))
            echoed = session.next_frame()
            self.assertEqual((echoed.opcode, echoed.data), (Opcode.BINARY, payload))
        session.close()


# ---- plain HTTP ------------------------------------------------------------


def http_get(path, headers=None):
    request = urllib.request.Request(f"http://{HOST}:{PORT}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


class HttpEndpointTest(unittest.TestCase):
    def test_healthz_answers_ok(self):
        self.assertEqual(http_get("/healthz"), (200, "ok\n"))

    def test_metrics_count_messages_and_include_the_runtime(self):
        async def session():
            async with connect() as ws:
                await ws.send("count me")
                await ws.recv()

        run(session())
        status, body = http_get("/metrics")
        self.assertEqual(status, 200)
        for name in ("echo_connections_accepted_total", "echo_connections_open",
                     "echo_websocket_sessions_total", "echo_websocket_sessions_open",
                     'echo_messages_received_total{type="text"}',
                     'echo_messages_sent_total{type="binary"}',
                     "echo_bytes_received_total", "echo_bytes_sent_total",
                     "troupe_runtime_workers", "troupe_runtime_tasks_alive"):
            self.assertIn(name, body)
        received = [line for line in body.splitlines()
                    if line.startswith('echo_messages_received_total{type="text"}')]
        self.assertGreaterEqual(int(received[0].split()[-1]), 1)

    def test_an_unknown_path_is_404(self):
        self.assertEqual(http_get("/nope")[0], 404)

    def test_a_plain_get_of_the_websocket_path_is_refused(self):
        self.assertIn(http_get("/")[0], (400, 426))


if __name__ == "__main__":
    unittest.main(verbosity=2)
