"""Loads generated message classes (../protos/interop.proto, the Bookstore's) for the Python peers.

The peers must not depend on grpc_tools, so interop_pb2.py is generated at run time with
protoc (PROTOC, else protoc on PATH, else /usr/bin/protoc) into a temporary directory, imported
from there, and the directory is removed again: nothing is written into the repository.
"""
import importlib.util
import os
import shutil
import subprocess
import tempfile

PROTO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "protos")
SERVICE = "esp.interop.Echo"


def _protoc():
    return os.environ.get("PROTOC") or shutil.which("protoc") or "/usr/bin/protoc"


def load_pb2():
    """Returns the generated interop_pb2 module."""
    return load_module(PROTO_DIR, "interop.proto")


def load_module(proto_dir, proto_file):
    """Generates and imports the _pb2 module of proto_dir/proto_file (imports of the
    well-known types resolve from protoc's own include directory)."""
    name = os.path.splitext(proto_file)[0] + "_pb2"
    with tempfile.TemporaryDirectory(prefix=name + "_") as out_dir:
        subprocess.run(
            [_protoc(), f"--proto_path={proto_dir}", f"--python_out={out_dir}", proto_file],
            check=True)
        spec = importlib.util.spec_from_file_location(name, os.path.join(out_dir, name + ".py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)  # fully loaded here, so the directory can go
        return module


def method(name):
    """The full gRPC method path of one Echo method, e.g. /esp.interop.Echo/Unary."""
    return f"/{SERVICE}/{name}"
