#!/usr/bin/python3
"""Calls one Bookstore method on Debian's grpcio, with an API key as the sample's client sends it.

Usage: /usr/bin/python3 bookstore_call.py --port PORT --method NAME [--request JSON]
           [--api_key KEY] [--query NAME=VALUE ...] [--host HOST] [--timeout S]

bookstore_client.py (the public sample) only calls ListShelves, which the sample's api_config.yaml
opens to callers without a key; this calls any method of endpoints.examples.bookstore.Bookstore, so
a test can reach one that needs a key. The request is the method's input message in protobuf JSON
(e.g. '{"shelf": 1}' for GetShelf; default: empty). --api_key sends metadata "x-api-key: KEY", as
bookstore_client.py does; each --query NAME=VALUE goes, percent-encoded, into the call's :path as a
query string (/endpoints.examples.bookstore.Bookstore/GetShelf?key=KEY).

Prints "NAME: <response as JSON>" and exits 0, or "ERROR: <code name>: <details>" and exits 1
(bookstore_client.py's format).
"""
import argparse
import os
import sys
import urllib.parse

import grpc
from google.protobuf import empty_pb2, json_format

from interop_proto import load_module

SAMPLE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "samples", "Bookstore")
SERVICE = "endpoints.examples.bookstore.Bookstore"


def query_entry(text):
    name, separator, value = text.partition("=")
    if not separator or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--method", required=True, help="a Bookstore method, e.g. GetShelf")
    parser.add_argument("--request", default="{}", help="the request message as protobuf JSON")
    parser.add_argument("--api_key", help="send metadata x-api-key: KEY")
    parser.add_argument("--query", type=query_entry, action="append", default=[], metavar="NAME=VALUE",
                        help="append NAME=VALUE (percent-encoded) to the call's path as a query string")
    parser.add_argument("--timeout", type=float, default=10)
    args = parser.parse_args()

    bookstore_pb2 = load_module(SAMPLE_DIR, "bookstore.proto")
    method = bookstore_pb2.DESCRIPTOR.services_by_name["Bookstore"].methods_by_name.get(args.method)
    if method is None:
        parser.error(f"--method: {args.method} is not a method of {SERVICE}")
    request = json_format.Parse(args.request, message_class(bookstore_pb2, method.input_type)())
    response_class = message_class(bookstore_pb2, method.output_type)

    path = f"/{SERVICE}/{args.method}"
    if args.query:
        path += "?" + "&".join(f"{urllib.parse.quote(n, safe='')}={urllib.parse.quote(v, safe='')}"
                               for n, v in args.query)
    metadata = [("x-api-key", args.api_key)] if args.api_key is not None else []
    with grpc.insecure_channel(f"{args.host}:{args.port}") as channel:
        call = channel.unary_unary(path, request_serializer=type(request).SerializeToString,
                                   response_deserializer=response_class.FromString)
        try:
            response = call(request, timeout=args.timeout, metadata=metadata)
        except grpc.RpcError as error:
            print(f"ERROR: {error.code().name}: {error.details()}", flush=True)
            return 1
    print(f"{args.method}: {json_format.MessageToJson(response, indent=None)}", flush=True)
    return 0


def message_class(bookstore_pb2, descriptor):
    """The generated class of a Bookstore message, or google.protobuf.Empty."""
    if descriptor.full_name == "google.protobuf.Empty":
        return empty_pb2.Empty
    return getattr(bookstore_pb2, descriptor.name)


if __name__ == "__main__":
    sys.exit(main())
