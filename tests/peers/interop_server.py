#!/usr/bin/python3
"""Interop test server: esp.interop.Echo (tests/protos/interop.proto) on Python grpcio.

Usage: /usr/bin/python3 interop_server.py [--port N]   (N = 0, the default, picks a free port)

Binds 127.0.0.1, prints one line "listening on PORT" once it serves, and runs until SIGTERM or
SIGINT, or until stdin is closed when stdin is a pipe or socket (so a test harness that dies
takes the server with it; a background job whose stdin is /dev/null or a tty keeps running).
"""
import argparse
import os
import signal
import stat
import sys
import threading
from concurrent import futures

import grpc
from grpc import _server as grpc_server_internals  # see ended_by_cancellation

from interop_proto import SERVICE, load_pb2

pb = load_pb2()

WAIT_FOR_CANCEL_LIMIT_S = 30
OBSERVED_LIMIT_S = 10
_STATUS_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}
_PATTERN = bytes(range(251))


def response_payload(request):
    """The request's payload, or response_size bytes with byte i = i % 251 when that is > 0."""
    size = request.response_size
    if size <= 0:
        return request.payload
    return (_PATTERN * (size // len(_PATTERN) + 1))[:size]


class CancelCounter:
    """Counts calls that ended by cancellation; Observed waits on it."""

    def __init__(self):
        self._cond = threading.Condition()
        self._count = 0

    def add(self):
        with self._cond:
            self._count += 1
            self._cond.notify_all()

    def wait_for(self, minimum, timeout):
        with self._cond:
            self._cond.wait_for(lambda: self._count >= minimum, timeout)
            return self._count


def ended_by_cancellation(context):
    """Whether a terminated call ended by cancellation (client cancel, deadline, reset).

    grpcio has no public query for this, and the handler cannot tell on its own: a cancel can
    reach the request iterator as a plain end of stream. grpcio's call state records the
    transport's verdict (RECV_CLOSE_ON_SERVER's "cancelled"), final once termination callbacks
    run, so read that.
    """
    # pylint: disable=protected-access
    return context._state.client is grpc_server_internals._CANCELLED


class Call:
    """Per-call state shared by the handlers: metadata echo, compression, the final status."""

    def __init__(self, context, cancels):
        self.context = context
        self._cancels = cancels
        self._headers_sent = False
        # x- metadata comes back as sent; so does the authorization the server received, as
        # x-received-authorization (so a test can see what a proxy put there).
        self._echo = tuple((key, value) for key, value in context.invocation_metadata()
                           if key.startswith("x-")) + tuple(
            ("x-received-authorization", value) for key, value in context.invocation_metadata()
            if key == "authorization")
        context.set_trailing_metadata(self._echo)
        context.add_callback(self._on_terminated)

    def _on_terminated(self):
        if ended_by_cancellation(self.context):
            self._cancels.add()

    def note(self, request):
        """Applies per-request options that affect the whole call."""
        # Must happen before the initial metadata goes out: grpcio announces the
        # compression there, so a later request can no longer switch it on.
        if request.compress_response:
            self.context.set_compression(grpc.Compression.Gzip)

    def respond(self, request, index, messages_received, bytes_received):
        """Builds a response; sends the echoing initial metadata first if not done yet."""
        if not self._headers_sent:
            self.context.send_initial_metadata(self._echo)
            self._headers_sent = True
        return pb.EchoResponse(payload=response_payload(request), index=index,
                               messages_received=messages_received,
                               bytes_received=bytes_received)

    def fail(self, failure):
        """Ends the call with the Failure's status (raises, as grpcio's abort does)."""
        trailers = self._echo
        if failure.details:
            trailers += (("grpc-status-details-bin", failure.details),)
        self.context.set_trailing_metadata(trailers)
        code = _STATUS_BY_NUMBER.get(failure.code, grpc.StatusCode.UNKNOWN)
        self.context.abort(code, failure.message)

    def wait_for_cancel(self):
        """Blocks until the call is cancelled (at most WAIT_FOR_CANCEL_LIMIT_S)."""
        ended = threading.Event()
        if self.context.add_callback(ended.set):  # False: the call has already ended
            ended.wait(WAIT_FOR_CANCEL_LIMIT_S)
        if self.context.is_active():
            self.fail(pb.Failure(code=grpc.StatusCode.DEADLINE_EXCEEDED.value[0],
                                 message="wait_for_cancel: the call was not cancelled"))


class EchoService:
    def __init__(self):
        self.cancels = CancelCounter()

    def unary(self, request, context):
        call = Call(context, self.cancels)
        call.note(request)
        if request.fail.code != 0:
            call.fail(request.fail)
        if request.wait_for_cancel:
            call.wait_for_cancel()
            return pb.EchoResponse()  # the call is over; grpcio drops this
        return call.respond(request, 0, 1, len(request.payload))

    def server_stream(self, request, context):
        call = Call(context, self.cancels)
        call.note(request)
        for i in range(request.response_count):
            yield call.respond(request, i, 1, len(request.payload))
        if request.fail.code != 0:
            call.fail(request.fail)
        if request.wait_for_cancel:
            call.wait_for_cancel()

    def client_stream(self, request_iterator, context):
        call = Call(context, self.cancels)
        count, received, last, first_fail = 0, 0, pb.EchoRequest(), None
        for request in request_iterator:
            call.note(request)
            count += 1
            received += len(request.payload)
            last = request
            if first_fail is None and request.fail.code != 0:
                first_fail = request.fail
            if request.wait_for_cancel:
                call.wait_for_cancel()
                return pb.EchoResponse()  # the call is over; grpcio drops this
        if first_fail is not None:
            call.fail(first_fail)
        return call.respond(last, 0, count, received)

    def bidi(self, request_iterator, context):
        call = Call(context, self.cancels)
        received = 0
        for index, request in enumerate(request_iterator):
            call.note(request)
            received += len(request.payload)
            if request.fail.code != 0:
                call.fail(request.fail)
            if request.wait_for_cancel:
                call.wait_for_cancel()
                return
            yield call.respond(request, index, index + 1, received)

    def observed(self, request, context):
        count = self.cancels.wait_for(request.min_cancelled, OBSERVED_LIMIT_S)
        return pb.ObservedResponse(cancelled=count)

    def handler(self):
        req, resp = pb.EchoRequest.FromString, pb.EchoResponse.SerializeToString
        return grpc.method_handlers_generic_handler(SERVICE, {
            "Unary": grpc.unary_unary_rpc_method_handler(self.unary, req, resp),
            "ServerStream": grpc.unary_stream_rpc_method_handler(self.server_stream, req, resp),
            "ClientStream": grpc.stream_unary_rpc_method_handler(self.client_stream, req, resp),
            "Bidi": grpc.stream_stream_rpc_method_handler(self.bidi, req, resp),
            "Observed": grpc.unary_unary_rpc_method_handler(
                self.observed, pb.ObservedRequest.FromString,
                pb.ObservedResponse.SerializeToString),
        })


def watch_stdin(stop):
    """Sets stop when stdin reaches EOF, if stdin is a pipe or socket from a parent process."""
    mode = os.fstat(sys.stdin.fileno()).st_mode
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return

    def read_to_eof():
        while sys.stdin.buffer.read1(4096):
            pass
        stop.set()

    threading.Thread(target=read_to_eof, daemon=True).start()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port to bind (0 = any free port)")
    args = parser.parse_args()

    # Handlers blocked in wait_for_cancel hold a worker each, so leave plenty.
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=32),
        # The receive limit stays grpcio's default 4 MiB (the oversize case relies on it).
        # No SO_REUSEPORT: a second server on a taken port must fail, not share it.
        options=[("grpc.max_send_message_length", -1), ("grpc.so_reuseport", 0)])
    server.add_generic_rpc_handlers((EchoService().handler(),))
    try:
        port = server.add_insecure_port(f"127.0.0.1:{args.port}")
    except RuntimeError:  # newer grpcio raises, older returns 0
        port = 0
    if port == 0:
        sys.exit(f"cannot bind 127.0.0.1:{args.port}")
    server.start()
    print(f"listening on {port}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    watch_stdin(stop)
    stop.wait()
    server.stop(grace=1).wait()


if __name__ == "__main__":
    main()
