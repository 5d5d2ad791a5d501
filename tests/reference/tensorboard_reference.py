"""Reads a TensorBoard event file that cajal wrote (tests/io/tensorboard_test.cpp) with an
independent reader: TFRecord framing checked with a bitwise CRC-32C written here, each record
decoded by Google's protobuf library (Debian's python3-protobuf) with message classes built
from descriptors that copy the field names and numbers of TensorBoard's protos
(tensorboard/compat/proto/event.proto, summary.proto, histogram.proto). Each record must also
be exactly what protobuf itself serializes for the decoded message. Histograms are compared
with numpy.histogram
(edges to 1e-12, counts exactly for the written edges). (TensorBoard's own EventAccumulator is not used: Debian does not package
TensorBoard.)

usage:
  tensorboard_reference.py check LOGDIR HISTDIR T0 T1
      LOGDIR holds exactly one events.out.tfevents.* file, written between unix times T0 and T1
      with the scalars SCALARS and, after them, one histogram per entry of HISTOGRAMS, whose
      values are HISTDIR/<name>.npy. Exits 1 with a message on the first mismatch.
"""
import math
import os
import re
import struct
import sys

import numpy as np
from google.protobuf import descriptor_pb2, message_factory

# The scalars the C++ test writes, in order: (tag, step, value); values are stored as float32.
SCALARS = [
    ("loss/train", 0, 2.302585092994046),
    ("loss/train", 1, 0.0),
    ("loss/train", 2, -0.0),
    ("loss/val", 1, 0.1),
    ("accuracy", 2, 1e-40),
    ("accuracy", 3, 3.4e38),
    ("special/nan", 4, float("nan")),
    ("special/inf", 5, float("inf")),
    ("special/-inf", 6, float("-inf")),
    ("big step", 2**40 + 7, 42.0),
    ("negative step", -3, -1.5),
    ("unicode/na\u00efve \u2713 \U0001f9e0", 7, 0.25),
    ("long/" + "x" * 200, 8, 123456.789),
]

# The histograms the C++ test writes after the scalars: (tag, step, values file name, bins).
HISTOGRAMS = [
    ("weights/ramp", 10, "ramp", 30),
    ("weights/normal", 11, "normal", 7),
    ("weights/constant", 12, "constant", 5),
    ("weights/single", 13, "single", 1),
]


def crc32c(data):
    """CRC-32C, bit by bit (reflected Castagnoli polynomial)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def message_classes():
    """Event, Summary and HistogramProto classes from descriptors (no protoc needed)."""
    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(name="cajal_tb_check.proto", package="tensorboard", syntax="proto3")

    def add(msg, name, number, ftype, type_name=None, repeated=False, oneof=None, packed=False):
        f = msg.field.add(name=name, number=number, type=ftype,
                          label=F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL)
        if type_name:
            f.type_name = type_name
        if oneof is not None:
            f.oneof_index = oneof
        if packed:
            f.options.packed = True

    histo = fdp.message_type.add(name="HistogramProto")
    for number, name in enumerate(["min", "max", "num", "sum", "sum_squares"], start=1):
        add(histo, name, number, F.TYPE_DOUBLE)
    add(histo, "bucket_limit", 6, F.TYPE_DOUBLE, repeated=True, packed=True)
    add(histo, "bucket", 7, F.TYPE_DOUBLE, repeated=True, packed=True)

    summary = fdp.message_type.add(name="Summary")
    value = summary.nested_type.add(name="Value")
    value.oneof_decl.add(name="value")
    add(value, "tag", 1, F.TYPE_STRING)
    add(value, "simple_value", 2, F.TYPE_FLOAT, oneof=0)
    add(value, "histo", 5, F.TYPE_MESSAGE, ".tensorboard.HistogramProto", oneof=0)
    add(summary, "value", 1, F.TYPE_MESSAGE, ".tensorboard.Summary.Value", repeated=True)

    event = fdp.message_type.add(name="Event")
    event.oneof_decl.add(name="what")
    add(event, "wall_time", 1, F.TYPE_DOUBLE)
    add(event, "step", 2, F.TYPE_INT64)
    add(event, "file_version", 3, F.TYPE_STRING, oneof=0)
    add(event, "summary", 5, F.TYPE_MESSAGE, ".tensorboard.Summary", oneof=0)

    classes = message_factory.GetMessages([fdp])
    return classes["tensorboard.Event"]


def read_records(path):
    with open(path, "rb") as f:
        data = f.read()
    records, pos = [], 0
    while pos < len(data):
        if pos + 12 > len(data):
            raise SystemExit(f"truncated record header at byte {pos}")
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        if length_crc != masked(crc32c(header)):
            raise SystemExit(f"record at byte {pos}: length CRC {length_crc:#x} != {masked(crc32c(header)):#x}")
        body = data[pos + 12:pos + 12 + length]
        (body_crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
        if len(body) != length or body_crc != masked(crc32c(body)):
            raise SystemExit(f"record at byte {pos}: data CRC {body_crc:#x} != {masked(crc32c(body)):#x}")
        records.append(body)
        pos += 16 + length
    return records


def same_float32(got, want):
    a, b = struct.pack("<f", got), struct.pack("<f", np.float32(want))
    return a == b or (math.isnan(got) and math.isnan(want))


def check(logdir, histdir, t0, t1):
    assert crc32c(b"123456789") == 0xE3069283, "the checker's own CRC-32C is wrong"
    Event = message_classes()
    files = os.listdir(logdir)
    if len(files) != 1:
        raise SystemExit(f"expected one event file in {logdir}, found {files}")
    name = files[0]
    m = re.fullmatch(r"events\.out\.tfevents\.(\d+)\.(.+)\.(\d+)\.(\d+)", name)
    if not m or not (math.floor(t0) <= int(m.group(1)) <= t1):
        raise SystemExit(f"bad event file name {name} (written between {t0} and {t1})")

    events = []
    for i, body in enumerate(read_records(os.path.join(logdir, name))):
        e = Event()
        e.ParseFromString(body)
        if e.SerializeToString() != body:
            raise SystemExit(f"record {i}: not protobuf's canonical encoding:\n  got  {body.hex()}\n  want {e.SerializeToString().hex()}")
        if not (math.floor(t0) <= e.wall_time <= t1 + 1):
            raise SystemExit(f"record {i}: wall_time {e.wall_time} outside [{t0}, {t1}]")
        if events and e.wall_time < events[-1].wall_time:
            raise SystemExit(f"record {i}: wall_time goes back")
        events.append(e)

    expected_count = 1 + len(SCALARS) + len(HISTOGRAMS)
    if len(events) != expected_count:
        raise SystemExit(f"{len(events)} records, expected {expected_count}")
    first = events[0]
    if first.WhichOneof("what") != "file_version" or first.file_version != "brain.Event:2" or first.step != 0:
        raise SystemExit(f"first record is not the file version: {first}")

    for i, (tag, step, value) in enumerate(SCALARS):
        e = events[1 + i]
        if e.WhichOneof("what") != "summary" or len(e.summary.value) != 1:
            raise SystemExit(f"scalar {i}: not a one-value summary: {e}")
        v = e.summary.value[0]
        if v.tag != tag or e.step != step or v.WhichOneof("value") != "simple_value" or not same_float32(v.simple_value, value):
            raise SystemExit(f"scalar {i}: got tag {v.tag!r} step {e.step} value {v.simple_value!r} "
                             f"({v.WhichOneof('value')}), expected {tag!r} {step} {np.float32(value)!r}")

    for i, (tag, step, file, bins) in enumerate(HISTOGRAMS):
        e = events[1 + len(SCALARS) + i]
        v = e.summary.value[0]
        if len(e.summary.value) != 1 or v.tag != tag or e.step != step or v.WhichOneof("value") != "histo":
            raise SystemExit(f"histogram {i}: got tag {v.tag!r} step {e.step} ({v.WhichOneof('value')}), expected {tag!r} {step}")
        h = v.histo
        values = np.load(os.path.join(histdir, file + ".npy")).astype(np.float64).ravel()
        _, edges = np.histogram(values, bins=bins)
        limits = np.array(h.bucket_limit)
        checks = {
            "min": (h.min, values.min()),
            "max": (h.max, values.max()),
            "num": (h.num, values.size),
            "sum": (h.sum, values.sum()),
            "sum_squares": (h.sum_squares, values.dot(values)),
        }
        for field, (got, want) in checks.items():
            if not math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12):
                raise SystemExit(f"histogram {tag}: {field} {got!r} != {want!r}")
        # The edges may differ from numpy's in the last bit (i * width + low may be computed
        # with one rounding, a fused multiply-add); the counts must be numpy's for those edges.
        if limits.shape != edges.shape or not np.allclose(limits, edges, rtol=1e-12, atol=1e-12):
            raise SystemExit(f"histogram {tag}: bucket_limit {limits.tolist()} != edges {edges.tolist()}")
        counts, _ = np.histogram(values, bins=limits)
        # TensorBoard reads bucket i as (limit[i-1], limit[i]]: the limits are every edge and the
        # first bucket, below the lowest edge, is empty.
        if list(h.bucket) != [0.0] + counts.astype(np.float64).tolist():
            raise SystemExit(f"histogram {tag}: bucket {list(h.bucket)} != [0] + counts {counts.tolist()}")
    print(f"checked {len(events)} records")


if __name__ == "__main__":
    if len(sys.argv) != 6 or sys.argv[1] != "check":
        raise SystemExit(__doc__)
    check(sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]))
