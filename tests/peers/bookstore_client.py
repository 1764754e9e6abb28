#!/usr/bin/python3
"""The Bookstore sample's Python client (bookstore_client.py), on Debian's grpcio.

Same flags and output as the public sample: one ListShelves call, printed as
"ListShelves: <response>". The tests use it as an independent gRPC C-core caller of our
Bookstore server and, later, of the proxy in front of it. On failure it prints
"ERROR: <code name>: <details>" and exits 1.
"""
import argparse
import os
import sys

import grpc
from google.protobuf import empty_pb2

from interop_proto import load_module

SAMPLE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "samples", "Bookstore")


def run(host, port, api_key, auth_token, timeout, use_tls, servername, ca_path):
    bookstore_pb2 = load_module(SAMPLE_DIR, "bookstore.proto")
    target = f"{host}:{port}"
    if use_tls:
        roots = open(ca_path, "rb").read() if ca_path else None
        options = [("grpc.ssl_target_name_override", servername)] if servername else []
        channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(roots), options)
    else:
        channel = grpc.insecure_channel(target)

    metadata = []
    if api_key:
        metadata.append(("x-api-key", api_key))
    if auth_token:
        metadata.append(("authorization", "Bearer " + auth_token))

    list_shelves = channel.unary_unary(
        "/endpoints.examples.bookstore.Bookstore/ListShelves",
        request_serializer=empty_pb2.Empty.SerializeToString,
        response_deserializer=bookstore_pb2.ListShelvesResponse.FromString)
    try:
        shelves = list_shelves(empty_pb2.Empty(), timeout=timeout, metadata=metadata)
    except grpc.RpcError as error:
        print(f"ERROR: {error.code().name}: {error.details()}")
        return 1
    print(f"ListShelves: {shelves}")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="localhost", help="The host to connect to")
    parser.add_argument("--port", type=int, default=8000, help="The port to connect to")
    parser.add_argument("--timeout", type=int, default=10, help="The call timeout, in seconds")
    parser.add_argument("--api_key", default=None, help="The API key to use for the call")
    parser.add_argument("--auth_token", default=None, help="The JWT auth token to use for the call")
    parser.add_argument("--use_tls", type=bool, default=False, help="Enable when the server requires TLS")
    parser.add_argument("--servername", type=str, default="", help="The servername to use to call the API.")
    parser.add_argument("--ca_path", type=str, default="", help="The path to the CA.")
    args = parser.parse_args()
    sys.exit(run(args.host, args.port, args.api_key, args.auth_token, args.timeout,
                 args.use_tls, args.servername, args.ca_path))


if __name__ == "__main__":
    main()
