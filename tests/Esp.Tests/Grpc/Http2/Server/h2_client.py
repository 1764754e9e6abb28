"""A small conversation with the server under test through python-h2 (Debian's python3-h2), an
independent HTTP/2 implementation that validates what it receives: two echo requests on one
connection, a response larger than the client's initial window, a PING, and a clean close.
Prints one line per step; exits non-zero on the first thing that is not as expected."""

import socket
import sys

import h2.config
import h2.connection
import h2.events
import h2.settings

port = int(sys.argv[1])
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
conn.initiate_connection()
conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 65535})
sock.sendall(conn.data_to_send())


def fail(message):
    print("FAIL " + message, flush=True)
    sys.exit(1)


def pump(until):
    """Reads and handles events until until(event) is true for one of them; returns that event."""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            fail("the server closed the connection")
        found = None
        for event in conn.receive_data(chunk):
            if isinstance(event, h2.events.DataReceived):
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            if isinstance(event, h2.events.StreamReset):
                fail(f"stream {event.stream_id} reset with {event.error_code}")
            if isinstance(event, h2.events.ConnectionTerminated):
                fail(f"GOAWAY {event.error_code} {event.additional_data!r}")
            if found is None and until(event):
                found = event
            handle(event)
        sock.sendall(conn.data_to_send())
        if found is not None:
            return found


responses = {}


def handle(event):
    stream = getattr(event, "stream_id", None)
    if stream is None:
        return
    response = responses.setdefault(stream, {"headers": None, "data": b"", "trailers": None, "ended": False})
    if isinstance(event, h2.events.ResponseReceived):
        response["headers"] = dict(event.headers)
    elif isinstance(event, h2.events.DataReceived):
        response["data"] += event.data
    elif isinstance(event, h2.events.TrailersReceived):
        response["trailers"] = dict(event.headers)
    elif isinstance(event, h2.events.StreamEnded):
        response["ended"] = True


def request(path, body):
    stream = conn.get_next_available_stream_id()
    conn.send_headers(stream, [
        (":method", "POST"), (":scheme", "http"), (":authority", "example.test"), (":path", path),
        ("content-type", "application/grpc"), ("te", "trailers"), ("x-peer", "python-h2"),
    ])
    for offset in range(0, len(body), 16384):
        conn.send_data(stream, body[offset:offset + 16384])
    conn.end_stream(stream)
    sock.sendall(conn.data_to_send())
    pump(lambda e: isinstance(e, h2.events.StreamEnded) and e.stream_id == stream)
    return responses[stream]


body = bytes(i % 251 for i in range(20000))
for attempt in range(2):
    response = request("/pkg.Svc/Echo", body)
    if response["headers"].get(":status") != "200":
        fail(f"status {response['headers']}")
    if response["data"] != body:
        fail(f"echo of {len(response['data'])} bytes differs")
    if (response["trailers"] or {}).get("grpc-status") != "0":
        fail(f"trailers {response['trailers']}")
    print(f"echo {attempt + 1} ok", flush=True)

response = request("/pkg.Svc/Big", b"")
expected = bytes(i % 251 for i in range(300000))
if response["data"] != expected:
    fail(f"big response of {len(response['data'])} bytes differs")
print("big ok", flush=True)

conn.ping(b"12345678")
sock.sendall(conn.data_to_send())
ack = pump(lambda e: isinstance(e, h2.events.PingAckReceived))
if ack.ping_data != b"12345678":
    fail(f"PING ACK {ack.ping_data!r}")
print("ping ok", flush=True)

conn.close_connection()
sock.sendall(conn.data_to_send())
sock.close()
print("done", flush=True)
