"""The WebSocket hub against Python's `websockets` (Debian's python3-websockets).

Run by hub_clients_test.sh, which starts three hubs on 127.0.0.1 and passes
their ports:
  HUB_PORT          default flags
  HUB_SLOW_PORT     --outbound_queue=8 (slow consumers overflow quickly)
  HUB_GUARDED_PORT  --rate_limit=5, --auth_token_file (token in HUB_TOKEN),
                    --allowed_origins=https://chat.example,..., and
                    --max_message_bytes=1024
ShutdownTest runs alone against a fresh hub (HUB_PORT, HUB_PID).

Clients speak JSON (text frames) or protobuf (binary frames); the protobuf
side is encoded and decoded here by hand from proto/hub.proto's field
numbers, so it checks the wire format independently of the server's code.
"""

import asyncio
import itertools
import json
import os
import signal
import sys
import unittest
import urllib.error
import urllib.request

import websockets

TIMEOUT = float(os.environ.get("CLIENT_TIMEOUT", "120"))
PORT = int(os.environ["HUB_PORT"])
SLOW_PORT = int(os.environ.get("HUB_SLOW_PORT", "0"))
GUARDED_PORT = int(os.environ.get("HUB_GUARDED_PORT", "0"))
TOKEN = os.environ.get("HUB_TOKEN", "")

_room_ids = itertools.count(1)


def fresh_room(prefix):
    return f"{prefix}-{os.getpid()}-{next(_room_ids)}"


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, TIMEOUT))


# ---- protobuf wire format, by hand (proto/hub.proto) -----------------------


def _varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _fields(data):
    """Yields (number, value): bytes for length-delimited, int for varints."""
    i = 0
    while i < len(data):
        key, i = _read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _read_varint(data, i)
        elif wire == 2:
            length, i = _read_varint(data, i)
            value, i = data[i:i + length], i + length
        else:
            raise ValueError(f"unexpected wire type {wire}")
        yield number, value


def _read_varint(data, i):
    shift = result = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, i
        shift += 7


# ClientFrame: id=1, join=2 {room=1, name=2}, leave=3 {room=1},
# publish=4 {room=1, text=2}, ping=5 {}.
def encode_client(frame):
    out = _field(1, frame["id"]) if frame.get("id") else b""
    if "join" in frame:
        j = frame["join"]
        out += _field(2, _field(1, j.get("room", "")) + _field(2, j.get("name", "")))
    if "leave" in frame:
        out += _field(3, _field(1, frame["leave"].get("room", "")))
    if "publish" in frame:
        p = frame["publish"]
        out += _field(4, _field(1, p.get("room", "")) + _field(2, p.get("text", "")))
    if "ping" in frame:
        out += _field(5, b"")
    return out


def _decode_message(data):
    m = {}
    for number, value in _fields(data):
        if number == 1:
            m["room"] = value.decode()
        elif number == 2:
            m["seq"] = str(value)  # as in the JSON mapping
        elif number == 3:
            m["from"] = value.decode()
        elif number == 4:
            m["text"] = value.decode()
        elif number == 5:
            m["sentAt"] = dict(_fields(value))
    return m


# ServerFrame: id=1, joined=2, left=3, message=4, presence=5, pong=6, error=7.
def decode_server(data):
    frame = {}
    for number, value in _fields(data):
        if number == 1:
            frame["id"] = value.decode()
        elif number == 2:
            joined = {"members": [], "history": []}
            for n, v in _fields(value):
                if n == 1:
                    joined["room"] = v.decode()
                elif n == 2:
                    joined["members"].append(v.decode())
                elif n == 3:
                    joined["history"].append(_decode_message(v))
            frame["joined"] = joined
        elif number == 3:
            frame["left"] = {"room": dict(_fields(value)).get(1, b"").decode()}
        elif number == 4:
            frame["message"] = _decode_message(value)
        elif number == 5:
            fields = dict(_fields(value))
            events = {1: "JOINED", 2: "LEFT"}
            frame["presence"] = {
                "room": fields.get(1, b"").decode(),
                "name": fields.get(2, b"").decode(),
                "event": events.get(fields.get(3, 0), "EVENT_UNSPECIFIED"),
            }
        elif number == 6:
            frame["pong"] = {}
        elif number == 7:
            fields = dict(_fields(value))
            frame["error"] = {
                "code": fields.get(1, b"").decode(),
                "detail": fields.get(2, b"").decode(),
            }
    return frame


# ---- a hub client ----------------------------------------------------------


def url(port=PORT, path="/ws"):
    return f"ws://127.0.0.1:{port}{path}"


class Client:
    """One connection; frames as dicts shaped like the JSON mapping."""

    def __init__(self, ws, binary):
        self.ws = ws
        self.binary = binary
        self.kinds = []  # "text" or "binary", per received frame

    @classmethod
    async def open(cls, port=PORT, binary=False, path="/ws", **kwargs):
        kwargs.setdefault("max_size", None)
        kwargs.setdefault("ping_interval", None)
        kwargs.setdefault("open_timeout", TIMEOUT)
        kwargs.setdefault("close_timeout", TIMEOUT)
        ws = await websockets.connect(url(port, path), **kwargs)
        return cls(ws, binary)

    async def send(self, frame):
        if self.binary:
            await self.ws.send(encode_client(frame))
        else:
            await self.ws.send(json.dumps(frame))

    async def recv(self):
        data = await self.ws.recv()
        if isinstance(data, bytes):
            self.kinds.append("binary")
            return decode_server(data)
        self.kinds.append("text")
        return json.loads(data)

    async def recv_kind(self, kind, skip=("presence",)):
        """The next frame of `kind`, skipping frames of the kinds in skip."""
        while True:
            frame = await self.recv()
            if kind in frame:
                return frame
            if not any(k in frame for k in skip):
                raise AssertionError(f"expected {kind}, got {frame}")

    async def join(self, room, name, request_id="j"):
        await self.send({"id": request_id, "join": {"room": room, "name": name}})
        frame = await self.recv_kind("joined")
        assert frame["id"] == request_id, frame
        return frame["joined"]

    async def publish(self, room, text):
        await self.send({"publish": {"room": room, "text": text}})

    async def close(self):
        await self.ws.close()


def seqs(messages):
    return [int(m["seq"]) for m in messages]


def http_get(path, port=PORT):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=TIMEOUT) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def metric(name, port):
    """The value of the metric line starting with `name` (0 if absent)."""
    _, _, text = http_get("/metrics", port)
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


# ---- the protocol's guarantees ---------------------------------------------


class GuaranteesTest(unittest.TestCase):
    def test_every_member_gets_every_message_in_one_order_without_gaps(self):
        room, per_client, clients_n = fresh_room("order"), 40, 4

        async def scenario():
            clients = [await Client.open(binary=(i % 2 == 1)) for i in range(clients_n)]
            for i, c in enumerate(clients):
                await c.join(room, f"c{i}")
            total = per_client * clients_n

            async def collect(c):
                got = []
                while len(got) < total:
                    got.append((await c.recv_kind("message"))["message"])
                return got

            async def publish_all(i, c):
                for k in range(per_client):
                    await c.publish(room, f"c{i}-{k}")
                    if k % 8 == 0:
                        await asyncio.sleep(0)

            results = await asyncio.gather(
                *[collect(c) for c in clients],
                *[publish_all(i, c) for i, c in enumerate(clients)],
            )
            for c in clients:
                await c.close()
            return results[:clients_n]

        received = run(scenario())
        canonical = [(m["from"], m["text"]) for m in received[0]]
        for got in received:
            self.assertEqual(seqs(got), list(range(1, len(got) + 1)))
            self.assertEqual([(m["from"], m["text"]) for m in got], canonical)
        # Each sender's own messages keep their order, and it saw them too.
        for i in range(clients_n):
            own = [t for f, t in canonical if f == f"c{i}"]
            self.assertEqual(own, [f"c{i}-{k}" for k in range(per_client)])

    def test_a_member_joining_mid_stream_sees_history_then_live_without_gap_or_dup(self):
        room, total = fresh_room("seam"), 400

        async def scenario():
            publisher = await Client.open()
            await publisher.join(room, "publisher")
            seen_by_publisher = []
            halfway = asyncio.Event()

            async def publish():
                for k in range(total):
                    await publisher.publish(room, f"m{k}")
                    if k % 4 == 0:
                        await asyncio.sleep(0)

            async def publisher_reads():
                while len(seen_by_publisher) < total:
                    m = (await publisher.recv_kind("message"))["message"]
                    seen_by_publisher.append(int(m["seq"]))
                    if len(seen_by_publisher) == total // 4:
                        halfway.set()

            async def late_joiner():
                await halfway.wait()
                late = await Client.open(binary=True)
                joined = await late.join(room, "late")
                got = seqs(joined["history"])
                history = len(got)
                while not got or got[-1] < total:
                    got.append(int((await late.recv_kind("message"))["message"]["seq"]))
                await late.close()
                return history, got

            _, _, (history, got) = await asyncio.gather(publish(), publisher_reads(), late_joiner())
            await publisher.close()
            return history, got

        history, got = run(scenario())
        self.assertLessEqual(history, 50)  # --history's default
        self.assertEqual(got, list(range(got[0], total + 1)))
        self.assertGreater(got[0], 1)  # it really joined mid-stream

    def test_names_are_unique_within_a_room_but_not_across_rooms(self):
        room = fresh_room("names")

        async def scenario():
            a, b = await Client.open(), await Client.open()
            await a.join(room, "ada")
            await b.send({"id": "x", "join": {"room": room, "name": "ada"}})
            refused = await b.recv()
            elsewhere = await b.join(fresh_room("names"), "ada")
            await a.close()
            await b.close()
            return refused, elsewhere

        refused, elsewhere = run(scenario())
        self.assertEqual(refused["error"]["code"], "name_taken")
        self.assertEqual(refused["id"], "x")
        self.assertTrue(refused["error"]["detail"])
        # The JSON mapping leaves empty lists out.
        self.assertEqual(elsewhere.get("members", []), [])

    def test_presence_goes_to_the_others_and_closing_leaves_every_room(self):
        rooms = [fresh_room("presence"), fresh_room("presence")]

        async def scenario():
            a, b = await Client.open(), await Client.open()
            for room in rooms:
                await a.join(room, "ada")
            joined_b = [await b.join(room, "bob") for room in rooms]
            arrivals = [(await a.recv())["presence"] for _ in rooms]
            await b.close()  # no explicit leave
            departures = [(await a.recv())["presence"] for _ in rooms]
            # bob's name is free again in both rooms.
            c = await Client.open()
            rejoined = [await c.join(room, "bob") for room in rooms]
            await a.close()
            await c.close()
            return joined_b, arrivals, departures, rejoined

        joined_b, arrivals, departures, rejoined = run(scenario())
        for j in joined_b:
            self.assertEqual(j["members"], ["ada"])
        self.assertEqual([(p["name"], p["event"]) for p in arrivals], [("bob", "JOINED")] * 2)
        self.assertEqual(sorted(p["room"] for p in departures), sorted(rooms))
        self.assertEqual([(p["name"], p["event"]) for p in departures], [("bob", "LEFT")] * 2)
        for j in rejoined:
            self.assertEqual(j["members"], ["ada"])

    def test_an_explicit_leave_is_answered_and_stops_delivery(self):
        room = fresh_room("leave")

        async def scenario():
            a, b = await Client.open(), await Client.open()
            await a.join(room, "ada")
            await b.join(room, "bob")
            await b.send({"id": "l1", "leave": {"room": room}})
            left = await b.recv_kind("left")
            await a.publish(room, "after")
            await a.recv_kind("message")
            await b.send({"id": "p", "ping": {}})
            next_for_b = await b.recv()  # the pong: no message came before it
            await b.send({"id": "l2", "leave": {"room": room}})
            again = await b.recv()
            await a.close()
            await b.close()
            return left, next_for_b, again

        left, next_for_b, again = run(scenario())
        self.assertEqual(left, {"id": "l1", "left": {"room": room}})
        self.assertIn("pong", next_for_b)
        self.assertEqual(again["error"]["code"], "not_a_member")

    def test_publishing_to_a_room_not_joined_is_not_a_member(self):
        async def scenario():
            c = await Client.open()
            await c.send({"id": "7", "publish": {"room": fresh_room("x"), "text": "hi"}})
            frame = await c.recv()
            await c.close()
            return frame

        frame = run(scenario())
        self.assertEqual(frame["id"], "7")
        self.assertEqual(frame["error"]["code"], "not_a_member")

    def test_json_and_protobuf_clients_share_a_room_each_answered_in_its_kind(self):
        room = fresh_room("kinds")

        async def scenario():
            j, p = await Client.open(), await Client.open(binary=True)
            await j.join(room, "json")
            await p.join(room, "proto")
            await j.recv_kind("presence")
            await p.publish(room, "from protobuf")
            at_j = (await j.recv_kind("message"))["message"]
            at_p = (await p.recv_kind("message"))["message"]
            # A client that switches kind is answered in the new kind.
            await j.ws.send(encode_client({"id": "b", "ping": {}}))
            pong_binary = await j.recv()
            await j.send({"id": "t", "ping": {}})
            pong_text = await j.recv()
            kinds = list(j.kinds)
            await j.close()
            await p.close()
            return at_j, at_p, pong_binary, pong_text, kinds, p.kinds

        at_j, at_p, pong_binary, pong_text, j_kinds, p_kinds = run(scenario())
        self.assertEqual(at_j["seq"], "1")
        self.assertEqual((at_j["from"], at_j["text"]), ("proto", "from protobuf"))
        self.assertEqual({k: at_p[k] for k in ("seq", "from", "text", "room")},
                         {k: at_j[k] for k in ("seq", "from", "text", "room")})
        self.assertIn("sentAt", at_j)
        self.assertEqual(pong_binary, {"id": "b", "pong": {}})
        self.assertEqual(pong_text, {"id": "t", "pong": {}})
        self.assertEqual(j_kinds[-2:], ["binary", "text"])
        self.assertEqual(set(j_kinds[:-2]), {"text"})
        self.assertEqual(set(p_kinds), {"binary"})


# ---- bad input ---------------------------------------------------------------


class BadInputTest(unittest.TestCase):
    def test_malformed_frames_get_bad_frame_and_the_connection_stays_open(self):
        async def scenario():
            c = await Client.open()
            answers = []
            for raw in ("{nope", '{"join": 3}', "{}", '{"unknownField": 1}'):
                await c.ws.send(raw)
                answers.append(await c.recv())
            await c.ws.send(b"\xff\xff\xff\xff")
            answers.append(await c.recv())
            await c.send({"id": "still", "ping": {}})
            answers.append(await c.recv())
            await c.close()
            return answers

        answers = run(scenario())
        for a in answers[:-1]:
            self.assertEqual(a["error"]["code"], "bad_frame", a)
            self.assertTrue(a["error"]["detail"])
        self.assertEqual(answers[-1], {"id": "still", "pong": {}})

    def test_a_message_over_max_message_bytes_closes_with_1009(self):
        async def scenario(port, size, **kwargs):
            c = await Client.open(port=port, **kwargs)
            with self.assertRaises(websockets.ConnectionClosedError):
                await c.ws.send("x" * size)
                await c.ws.recv()
            return c.ws.close_code

        self.assertEqual(run(scenario(PORT, 65537)), 1009)
        self.assertEqual(
            run(scenario(GUARDED_PORT, 1025, extra_headers={"Authorization": f"Bearer {TOKEN}"})),
            1009)

    def test_a_message_at_max_message_bytes_is_accepted(self):
        room = fresh_room("big")

        async def scenario():
            c = await Client.open()
            await c.join(room, "big")
            # The JSON envelope around the text counts against the limit.
            envelope = len(json.dumps({"publish": {"room": room, "text": ""}}))
            await c.publish(room, "y" * (65536 - envelope))
            m = await c.recv_kind("message")
            await c.close()
            return m

        self.assertEqual(len(run(scenario())["message"]["text"]),
                         65536 - len(json.dumps({"publish": {"room": room, "text": ""}})))

    def test_a_flooding_client_is_rate_limited_then_closed_with_1008(self):
        async def scenario():
            c = await Client.open(port=GUARDED_PORT,
                                  extra_headers={"Authorization": f"Bearer {TOKEN}"})
            for _ in range(100):
                try:
                    await c.send({"ping": {}})
                except websockets.ConnectionClosed:
                    break
            frames = []
            try:
                while True:
                    frames.append(await c.recv())
            except websockets.ConnectionClosed:
                pass
            return frames, c.ws.close_code, c.ws.close_reason

        frames, code, reason = run(scenario())
        codes = [f["error"]["code"] for f in frames if "error" in f]
        self.assertIn("rate_limited", codes)
        self.assertTrue(any("pong" in f for f in frames))  # the first burst passed
        self.assertEqual(code, 1008)
        self.assertEqual(reason, "rate limit exceeded")

    def test_a_foreign_origin_gets_403_and_the_hubs_own_page_is_allowed(self):
        async def status(port, **kwargs):
            try:
                c = await Client.open(port=port, **kwargs)
            except websockets.InvalidStatusCode as e:
                return e.status_code
            await c.close()
            return 101

        auth = {"extra_headers": {"Authorization": f"Bearer {TOKEN}"}}
        self.assertEqual(run(status(PORT, origin="http://evil.example")), 403)
        self.assertEqual(run(status(PORT, origin=f"http://127.0.0.1:{PORT}")), 101)
        self.assertEqual(run(status(PORT)), 101)  # not a browser
        self.assertEqual(run(status(GUARDED_PORT, origin="https://chat.example", **auth)), 101)
        self.assertEqual(run(status(GUARDED_PORT, origin="https://other.example", **auth)), 101)
        self.assertEqual(run(status(GUARDED_PORT, origin="https://evil.example", **auth)), 403)

    def test_with_a_token_file_an_upgrade_needs_a_valid_token(self):
        async def status(path="/ws", headers=None):
            try:
                c = await Client.open(port=GUARDED_PORT, path=path, extra_headers=headers or {})
            except websockets.InvalidStatusCode as e:
                return e.status_code
            await c.close()
            return 101

        self.assertEqual(run(status()), 401)
        self.assertEqual(run(status(headers={"Authorization": "Bearer wrong"})), 401)
        self.assertEqual(run(status(path="/ws?token=wrong")), 401)
        self.assertEqual(run(status(headers={"Authorization": f"Bearer {TOKEN}"})), 101)
        self.assertEqual(run(status(headers={"Authorization": "Bearer first-token"})), 101)
        self.assertEqual(run(status(path=f"/ws?token={TOKEN}")), 101)


# ---- slow consumers ----------------------------------------------------------


class SlowConsumerTest(unittest.TestCase):
    def test_a_slow_consumer_is_closed_with_1008_and_the_others_get_everything(self):
        room, total, size = fresh_room("slow"), 2000, 16000

        async def scenario():
            publisher = await Client.open(port=SLOW_PORT)
            reader = await Client.open(port=SLOW_PORT)
            # The library stops reading the socket once one message waits.
            slow = await Client.open(port=SLOW_PORT, max_queue=1)
            await publisher.join(room, "publisher")
            await reader.join(room, "reader")
            await slow.join(room, "slow")
            drops_before = metric("hub_slow_consumer_drops_total", SLOW_PORT)
            received = {"publisher": [], "reader": []}
            # At most 4 messages in flight to each reader: the readers keep
            # up however slow the hub is (a sanitizer build), so only the
            # client that does not read overflows.
            windows = {name: asyncio.Semaphore(4) for name in received}

            async def publish():
                for k in range(total):
                    for window in windows.values():
                        await window.acquire()
                    await publisher.publish(room, f"{k:08d}" + "z" * size)

            async def read(name, client):
                while len(received[name]) < total:
                    m = (await client.recv_kind("message"))["message"]
                    received[name].append(int(m["seq"]))
                    windows[name].release()

            async def slow_reads_once_dropped():
                loop = asyncio.get_running_loop()
                while (await loop.run_in_executor(
                        None, metric, "hub_slow_consumer_drops_total", SLOW_PORT)) <= drops_before:
                    await asyncio.sleep(0.05)
                frames = 0
                try:
                    while True:
                        await slow.ws.recv()
                        frames += 1
                except websockets.ConnectionClosed:
                    pass
                return frames, slow.ws.close_code, slow.ws.close_reason

            results = await asyncio.gather(
                publish(), read("publisher", publisher), read("reader", reader),
                slow_reads_once_dropped())
            await publisher.close()
            await reader.close()
            return received, results[3]

        received, (frames, code, reason) = run(scenario())
        self.assertEqual(received["publisher"], list(range(1, total + 1)))
        self.assertEqual(received["reader"], list(range(1, total + 1)))
        self.assertLess(frames, total)
        self.assertEqual(code, 1008)
        self.assertEqual(reason, "slow consumer")
        self.assertGreaterEqual(
            metric('hub_disconnects_total{reason="slow_consumer"}', SLOW_PORT), 1)


# ---- HTTP --------------------------------------------------------------------


class HttpTest(unittest.TestCase):
    def test_the_page_health_and_metrics_are_served(self):
        status, content_type, body = http_get("/")
        self.assertEqual(status, 200)
        self.assertIn("text/html", content_type)
        self.assertIn("<title>troupe hub</title>", body)
        for element in ('id="name"', 'id="room"', 'id="join"', 'id="members"',
                        'id="messages"', 'id="text"', 'id="send"'):
            self.assertIn(element, body)
        self.assertEqual(http_get("/healthz")[:1], (200,))
        self.assertEqual(http_get("/healthz")[2], "ok\n")
        status, _, text = http_get("/metrics")
        self.assertEqual(status, 200)
        for name in ("hub_connections_open", "hub_rooms", "hub_messages_in_total",
                     "hub_messages_out_total", "hub_slow_consumer_drops_total",
                     'hub_disconnects_total{reason="client_closed"}',
                     'hub_errors_total{code="bad_frame"}', "hub_actors{type=",
                     "troupe_runtime_"):
            self.assertIn(name, text)
        self.assertEqual(http_get("/nowhere")[0], 404)

    def test_metrics_count_connections_and_messages(self):
        room = fresh_room("metrics")
        before_in = metric("hub_messages_in_total", PORT)

        async def scenario():
            c = await Client.open()
            await c.join(room, "counter")
            open_now = metric("hub_connections_open", PORT)
            await c.publish(room, "one")
            await c.recv_kind("message")
            await c.close()
            return open_now

        self.assertGreaterEqual(run(scenario()), 1)
        self.assertGreaterEqual(metric("hub_messages_in_total", PORT), before_in + 2)


# ---- graceful shutdown (run alone, against a hub it may stop) ---------------


class ShutdownTest(unittest.TestCase):
    def test_sigterm_flushes_what_was_queued_then_closes_with_1001(self):
        room, total = fresh_room("bye"), 200

        async def scenario():
            publisher = await Client.open()
            # Reads nothing until the signal: its messages wait in the hub.
            lazy = await Client.open(max_queue=1)
            await publisher.join(room, "publisher")
            await lazy.join(room, "lazy")
            for k in range(total):
                await publisher.publish(room, f"{k:04d}" + "w" * 2000)
            got = []
            while len(got) < total:
                got.append((await publisher.recv_kind("message"))["message"])
            # Every message is sequenced and queued for `lazy` by now.
            os.kill(int(os.environ["HUB_PID"]), signal.SIGTERM)
            frames = []
            try:
                while True:
                    frames.append(await lazy.recv())
            except websockets.ConnectionClosed:
                pass
            try:
                while True:
                    await publisher.recv()
            except websockets.ConnectionClosed:
                pass
            return (frames, lazy.ws.close_code, lazy.ws.close_reason,
                    publisher.ws.close_code)

        frames, code, reason, publisher_code = run(scenario())
        self.assertEqual(seqs([f["message"] for f in frames if "message" in f]),
                         list(range(1, total + 1)))
        self.assertEqual(code, 1001)
        self.assertEqual(reason, "server shutting down")
        self.assertEqual(publisher_code, 1001)


if __name__ == "__main__":
    if len(sys.argv) == 1:
        # ShutdownTest stops its hub: it runs alone (see the .sh).
        suite = unittest.TestSuite()
        loader = unittest.defaultTestLoader
        for case in (GuaranteesTest, BadInputTest, SlowConsumerTest, HttpTest):
            suite.addTests(loader.loadTestsFromTestCase(case))
        result = unittest.TextTestRunner(verbosity=2).run(suite)
        sys.exit(0 if result.wasSuccessful() else 1)
    unittest.main(verbosity=2)
