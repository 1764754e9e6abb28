#!/usr/bin/python3
"""Interop test client on Python grpcio: runs one case against an esp.interop.Echo server.

Usage: /usr/bin/python3 interop_client.py --target HOST:PORT --case NAME
           [--auth_token TOKEN] [--metadata KEY=VALUE ...] [--query NAME=VALUE ...]

Prints "PASS NAME" and exits 0, or prints "FAIL NAME: ..." and exits 1.
--auth_token sends "authorization: Bearer TOKEN" and each --metadata its entry with every call;
the --query entries go, percent-encoded, into every call's :path as a query string
(/esp.interop.Echo/Unary?key=VALUE), the way an API key can be sent in a URL.
"""
import argparse
import collections
import json
import os
import queue
import sys
import urllib.parse

import grpc

from interop_proto import load_pb2, method

pb = load_pb2()

TIMEOUT_S = 10
# Observed itself may wait 10 s on the server; its deadline must outlast that so a missing
# cancellation shows up as a wrong count rather than as DEADLINE_EXCEEDED.
OBSERVED_TIMEOUT_S = 15
MIB = 1024 * 1024
_PATTERN = bytes(range(251))


class CaseFailed(Exception):
    pass


def expect_equal(what, expected, got):
    if expected != got:
        raise CaseFailed(f"{what}: expected {_show(expected)}, got {_show(got)}")


def _show(value):
    """Keeps messages short when a big payload differs."""
    if isinstance(value, bytes) and len(value) > 64:
        return f"<{len(value)} bytes starting {value[:16]!r}>"
    return repr(value)


def expect_rpc_error(what, code, call):
    """Runs call(), which must raise an RpcError with the given code; returns the error."""
    try:
        result = call()
    except grpc.RpcError as error:
        expect_equal(f"{what} status", code, error.code())
        return error
    raise CaseFailed(f"{what}: expected status {code}, got a result {result!r:.200}")


def pattern(size):
    return (_PATTERN * (size // len(_PATTERN) + 1))[:size]


class Echo:
    """Typed multi-callables for the Echo service over one channel."""

    def __init__(self, channel):
        def stub(kind, name, request=pb.EchoRequest, response=pb.EchoResponse):
            return getattr(channel, kind)(method(name),
                                          request_serializer=request.SerializeToString,
                                          response_deserializer=response.FromString)

        self.unary = stub("unary_unary", "Unary")
        self.server_stream = stub("unary_stream", "ServerStream")
        self.client_stream = stub("stream_unary", "ClientStream")
        self.bidi = stub("stream_stream", "Bidi")
        self.observed = stub("unary_unary", "Observed", pb.ObservedRequest, pb.ObservedResponse)
        self.channel = channel

    def cancelled_count(self, minimum=0):
        request = pb.ObservedRequest(min_cancelled=minimum)
        return self.observed(request, timeout=OBSERVED_TIMEOUT_S).cancelled


class Requests:
    """A request iterator fed by the test, so it controls when each request goes out."""
    _END = object()

    def __init__(self):
        self._queue = queue.Queue()

    def send(self, request):
        self._queue.put(request)

    def close(self):
        self._queue.put(self._END)

    def __iter__(self):
        while (request := self._queue.get()) is not self._END:
            yield request


def expect_cancellation_seen(echo, before):
    """Observed must confirm the server counted at least one more cancelled call."""
    seen = echo.cancelled_count(before + 1)
    if seen < before + 1:
        raise CaseFailed(f"Observed: expected the server to count >= {before + 1} cancelled "
                         f"calls, got {seen}")


# ---- cases ----------------------------------------------------------------------------------

def case_unary(echo):
    response = echo.unary(pb.EchoRequest(payload=b"hello"), timeout=TIMEOUT_S)
    expect_equal("payload", b"hello", response.payload)
    expect_equal("index", 0, response.index)
    expect_equal("messages_received", 1, response.messages_received)


def case_server_stream(echo):
    responses = list(echo.server_stream(pb.EchoRequest(payload=b"s", response_count=5),
                                        timeout=TIMEOUT_S))
    expect_equal("response count", 5, len(responses))
    for i, response in enumerate(responses):
        expect_equal(f"response {i} index", i, response.index)
        expect_equal(f"response {i} payload", b"s", response.payload)


def case_client_stream(echo):
    payloads = [b"a" * n for n in (1, 2, 3, 4)]
    response = echo.client_stream(iter(pb.EchoRequest(payload=p) for p in payloads),
                                  timeout=TIMEOUT_S)
    expect_equal("messages_received", 4, response.messages_received)
    expect_equal("bytes_received", 10, response.bytes_received)
    expect_equal("payload", payloads[-1], response.payload)


def case_bidi(echo):
    requests = Requests()
    call = echo.bidi(iter(requests), timeout=TIMEOUT_S)
    received = 0
    try:
        for i in range(3):
            payload = f"ping {i}".encode()
            requests.send(pb.EchoRequest(payload=payload))
            response = next(call)
            expect_equal(f"response {i} payload", payload, response.payload)
            expect_equal(f"response {i} index", i, response.index)
            expect_equal(f"response {i} messages_received", i + 1, response.messages_received)
            received += len(payload)
            expect_equal(f"response {i} bytes_received", received, response.bytes_received)
        requests.close()
        rest = list(call)
        expect_equal("responses after half-close", [], rest)
        expect_equal("status", grpc.StatusCode.OK, call.code())
    finally:
        requests.close()  # never leave grpcio's sending thread blocked on the queue


def case_empty_stream(echo):
    response, call = echo.client_stream.with_call(iter([]), timeout=TIMEOUT_S)
    expect_equal("ClientStream messages_received", 0, response.messages_received)
    expect_equal("ClientStream status", grpc.StatusCode.OK, call.code())

    call = echo.server_stream(pb.EchoRequest(response_count=0), timeout=TIMEOUT_S)
    expect_equal("ServerStream responses", [], list(call))
    expect_equal("ServerStream status", grpc.StatusCode.OK, call.code())


def case_error_status(echo):
    fail = pb.Failure(code=9, message="bad thing: naïve ☃ 100% \n done", details=b"\x00\x01\xff")
    error = expect_rpc_error("Unary", grpc.StatusCode.FAILED_PRECONDITION,
                             lambda: echo.unary(pb.EchoRequest(fail=fail), timeout=TIMEOUT_S))
    expect_equal("Unary message", fail.message, error.details())
    trailers = dict(error.trailing_metadata() or ())
    expect_equal("Unary grpc-status-details-bin", fail.details,
                 trailers.get("grpc-status-details-bin"))

    call = echo.server_stream(pb.EchoRequest(response_count=2, fail=pb.Failure(code=5)),
                              timeout=TIMEOUT_S)
    received = []

    def read_all():
        for response in call:
            received.append(response)

    expect_rpc_error("ServerStream", grpc.StatusCode.NOT_FOUND, read_all)
    expect_equal("ServerStream responses before the failure", 2, len(received))


def case_deadline(echo):
    before = echo.cancelled_count()
    expect_rpc_error("Unary with wait_for_cancel", grpc.StatusCode.DEADLINE_EXCEEDED,
                     lambda: echo.unary(pb.EchoRequest(wait_for_cancel=True), timeout=1.0))
    expect_cancellation_seen(echo, before)


def case_cancel_mid_stream(echo):
    before = echo.cancelled_count()
    requests = Requests()
    call = echo.bidi(iter(requests), timeout=TIMEOUT_S)
    try:
        requests.send(pb.EchoRequest(payload=b"first"))
        expect_equal("first response payload", b"first", next(call).payload)
        # Park the server mid-call, so that only the cancellation can end it. Some clients
        # (grpc-js) cancel with END_STREAM then RST_STREAM; a server still reading would take
        # the END_STREAM as a half-close and could finish OK before the reset arrives.
        requests.send(pb.EchoRequest(wait_for_cancel=True))
        call.cancel()
        expect_rpc_error("Bidi after cancel", grpc.StatusCode.CANCELLED, lambda: next(call))
    finally:
        requests.close()
    expect_cancellation_seen(echo, before)


def case_large_message(echo):
    size = 4 * MIB - 64
    payload = os.urandom(size)
    response = echo.unary(pb.EchoRequest(payload=payload), timeout=TIMEOUT_S)
    expect_equal("echoed payload", payload, response.payload)

    response = echo.unary(pb.EchoRequest(response_size=size), timeout=TIMEOUT_S)
    expect_equal("response_size payload", pattern(size), response.payload)


def case_oversize(echo):
    expect_rpc_error("Unary with 5 MiB", grpc.StatusCode.RESOURCE_EXHAUSTED,
                     lambda: echo.unary(pb.EchoRequest(payload=bytes(5 * MIB)), timeout=TIMEOUT_S))


def case_gzip(echo):
    payload = (b"compressible " * 8192)[:100 * 1024]
    response = echo.unary(pb.EchoRequest(payload=payload, compress_response=True),
                          timeout=TIMEOUT_S, compression=grpc.Compression.Gzip)
    expect_equal("payload", payload, response.payload)


def case_binary_metadata(echo):
    sent = [("x-text", "hello"), ("x-data-bin", bytes(range(256)))]
    _, call = echo.unary.with_call(pb.EchoRequest(), metadata=sent, timeout=TIMEOUT_S)

    def echoed(metadata):
        return sorted((key, value) for key, value in metadata if key.startswith("x-"))

    expect_equal("initial metadata", sorted(sent), echoed(call.initial_metadata()))
    expect_equal("trailing metadata", sorted(sent), echoed(call.trailing_metadata()))


def case_unimplemented(echo):
    no_such_method = echo.channel.unary_unary(method("NoSuchMethod"))  # raw bytes in and out
    expect_rpc_error("NoSuchMethod", grpc.StatusCode.UNIMPLEMENTED,
                     lambda: no_such_method(b"\x01\x02", timeout=TIMEOUT_S))


def case_many_messages(echo):
    count, size = 1000, 100
    # grpcio drains the request iterator on its own thread, so this sends while we read.
    requests = (pb.EchoRequest(payload=i.to_bytes(4, "big") * (size // 4)) for i in range(count))
    responses = list(echo.bidi(requests, timeout=TIMEOUT_S))
    expect_equal("response count", count, len(responses))
    for i, response in enumerate(responses):
        expect_equal(f"response {i} index", i, response.index)
        expect_equal(f"response {i} payload", i.to_bytes(4, "big") * (size // 4),
                     response.payload)
        expect_equal(f"response {i} bytes_received", (i + 1) * size, response.bytes_received)


def case_report(echo):
    """One Unary call; prints "RESULT <json>" with its status and the x- metadata that came back
    (the Echo server echoes the x- request headers it received). Passes whatever the status."""
    try:
        response, call = echo.unary.with_call(pb.EchoRequest(payload=b"report"), timeout=TIMEOUT_S)
        expect_equal("payload", b"report", response.payload)
        code, details = call.code(), call.details()
        headers, trailers = call.initial_metadata(), call.trailing_metadata()
    except grpc.RpcError as error:
        code, details = error.code(), error.details()
        headers, trailers = error.initial_metadata(), error.trailing_metadata()

    def echoed(metadata):
        result = {}
        for key, value in metadata or ():
            if key.startswith("x-") and not key.endswith("-bin"):
                result.setdefault(key, []).append(value)
        return result

    print("RESULT " + json.dumps({"code": code.name, "details": details or "",
                                  "headers": echoed(headers), "trailers": echoed(trailers)}),
          flush=True)


CASES = {name[len("case_"):]: case for name, case in globals().items()
         if name.startswith("case_")}


class _CallDetails(collections.namedtuple(
        "_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")),
        grpc.ClientCallDetails):
    pass


class AddToEveryCall(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                     grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds the --auth_token and --metadata entries to every call, and the --query string to
    its method (grpcio sends the method as the :path header exactly as given)."""

    def __init__(self, entries, query):
        self._entries = entries
        self._query = query

    def _details(self, details):
        return _CallDetails(details.method + self._query, details.timeout,
                            list(details.metadata or ()) + self._entries, details.credentials,
                            details.wait_for_ready, details.compression)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation, details, requests):
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation, details, requests):
        return continuation(self._details(details), requests)


def metadata_entry(text):
    key, separator, value = text.partition("=")
    if not separator or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.lower(), value


def query_entry(text):
    name, separator, value = text.partition("=")
    if not separator or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def query_string(entries):
    """"?a=1&b=x%20y" for the entries, every character but A-Z a-z 0-9 - . _ ~ percent-encoded
    (RFC 3986), or "" for none."""
    if not entries:
        return ""
    return "?" + "&".join(f"{urllib.parse.quote(name, safe='')}={urllib.parse.quote(value, safe='')}"
                          for name, value in entries)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="HOST:PORT of the server")
    parser.add_argument("--case", required=True, choices=sorted(CASES))
    parser.add_argument("--ca", help="PEM CA file: connect with TLS, trusting this CA")
    parser.add_argument("--servername", help="with --ca: the name to expect in the certificate")
    parser.add_argument("--auth_token", help="send authorization: Bearer TOKEN with every call")
    parser.add_argument("--metadata", type=metadata_entry, action="append", default=[],
                        metavar="KEY=VALUE", help="send this metadata entry with every call")
    parser.add_argument("--query", type=query_entry, action="append", default=[],
                        metavar="NAME=VALUE",
                        help="append NAME=VALUE (percent-encoded) to every call's path as a query string")
    args = parser.parse_args()
    query = query_string(args.query)
    entries = list(args.metadata)
    if args.auth_token is not None:
        entries.append(("authorization", "Bearer " + args.auth_token))

    options = [("grpc.max_receive_message_length", 8 * MIB),
               ("grpc.max_send_message_length", -1)]
    if args.ca:
        if args.servername:
            options.append(("grpc.ssl_target_name_override", args.servername))
        with open(args.ca, "rb") as ca:
            credentials = grpc.ssl_channel_credentials(ca.read())
        channel = grpc.secure_channel(args.target, credentials, options=options)
    else:
        channel = grpc.insecure_channel(args.target, options=options)
    with channel:
        calls = (grpc.intercept_channel(channel, AddToEveryCall(entries, query))
                 if entries or query else channel)
        try:
            CASES[args.case](Echo(calls))
        except CaseFailed as failure:
            print(f"FAIL {args.case}: {failure}", flush=True)
            return 1
        except grpc.RpcError as error:
            print(f"FAIL {args.case}: unexpected RPC error {error.code()}: {error.details()!r}",
                  flush=True)
            return 1
        except Exception as error:  # e.g. StopIteration: a stream ended too early
            print(f"FAIL {args.case}: unexpected {type(error).__name__}: {error}", flush=True)
            return 1
    print(f"PASS {args.case}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
