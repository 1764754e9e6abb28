"""The other end of HpackInteropTests: python-hpack, an independent HPACK implementation.

Reads one JSON request on stdin and writes one JSON answer on stdout. Octet strings are hex.

  {"decode": [{"max_allowed_table_size": N or null, "block": HEX}, ...]}
      decodes the blocks in order on one Decoder; per block: {"headers": [[NAME, VALUE, NEVER_INDEXED]],
      "table": [[NAME, VALUE]] (newest first), "table_size": N} or {"error": MESSAGE} (and stops).
  {"encode": [{"header_table_size": N or null, "headers": [[NAME, VALUE, SENSITIVE]]}, ...]}
      encodes the lists in order on one Encoder (Huffman on); per list: {"block": HEX, "table": ..., "table_size": N}.
"""
import json
import sys

import hpack
from hpack.struct import NeverIndexedHeaderTuple


def table(t):
    return {"table": [[n.hex(), v.hex()] for n, v in t.dynamic_entries], "table_size": t._current_size}


def decode(blocks):
    decoder = hpack.Decoder(max_header_list_size=1 << 30)
    out = []
    for b in blocks:
        if b.get("max_allowed_table_size") is not None:
            decoder.max_allowed_table_size = b["max_allowed_table_size"]
        try:
            headers = decoder.decode(bytes.fromhex(b["block"]), raw=True)
        except Exception as e:  # noqa: BLE001 - any failure is reported to the test
            out.append({"error": "%s: %s" % (type(e).__name__, e)})
            break
        fields = [[h[0].hex(), h[1].hex(), isinstance(h, NeverIndexedHeaderTuple)] for h in headers]
        out.append({"headers": fields, **table(decoder.header_table)})
    return out


def encode(lists):
    encoder = hpack.Encoder()
    out = []
    for item in lists:
        if item.get("header_table_size") is not None:
            encoder.header_table_size = item["header_table_size"]
        headers = [(bytes.fromhex(n), bytes.fromhex(v), s) for n, v, s in item["headers"]]
        block = encoder.encode(headers, huffman=True)
        out.append({"block": block.hex(), **table(encoder.header_table)})
    return out


request = json.load(sys.stdin)
answer = decode(request["decode"]) if "decode" in request else encode(request["encode"])
json.dump(answer, sys.stdout)
