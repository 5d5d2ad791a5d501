"""Prints every scalar in the TensorBoard event files of LOGDIR, one 'tag<TAB>step<TAB>value'
line each (value as Python's repr of the stored float32), in file-name then record order.
Records are read with the independent TFRecord reader and protobuf message classes of
tensorboard_reference.py (CRC-checked, decoded by Google's protobuf library).

usage: train_tensorboard_dump.py LOGDIR
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tensorboard_reference import message_classes, read_records  # noqa: E402


def main(logdir):
    Event = message_classes()
    files = sorted(f for f in os.listdir(logdir) if f.startswith("events.out.tfevents."))
    if not files:
        raise SystemExit(f"no event file in {logdir}")
    for name in files:
        records = read_records(os.path.join(logdir, name))
        first = Event.FromString(records[0])
        if first.file_version != "brain.Event:2":
            raise SystemExit(f"{name}: first record is not the file_version event")
        for body in records[1:]:
            event = Event.FromString(body)
            for value in event.summary.value:
                if value.WhichOneof("value") != "simple_value":
                    raise SystemExit(f"{name}: {value.tag} is not a scalar")
                print(f"{value.tag}\t{event.step}\t{value.simple_value!r}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
