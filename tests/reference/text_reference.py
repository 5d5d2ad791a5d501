"""Python's own UTF-8 decoding and NumPy as the oracle for cajal's character corpus
(tests/data/text_test.cpp).

usage: text_reference.py OUT_DIR CORPUS_DIR SEQ_LEN STRIDE VAL_BEGIN VAL_END
  Reads CORPUS_DIR as cajal's text_files documents it (regular files, no symbolic links, no
  files with a NUL byte, sorted by name), decodes them as UTF-8, and writes:
    files.txt                the files read, one per line
    vocab.npy                the sorted distinct code points (int64)
    tokens.npy               the text as indices into vocab (int64)
    train_inputs.npy, train_targets.npy, val_inputs.npy, val_targets.npy
                             windows of SEQ_LEN tokens every STRIDE tokens within [0, VAL_BEGIN),
                             [VAL_END, L) (training) and [VAL_BEGIN, VAL_END) (validation),
                             targets shifted by one ([N, SEQ_LEN] each)
"""
import os
import sys

import numpy as np

out, corpus = sys.argv[1], sys.argv[2]
seq_len, stride, val_begin, val_end = (int(v) for v in sys.argv[3:7])

files = []
for name in sorted(os.listdir(corpus)):
    path = os.path.join(corpus, name)
    if os.path.islink(path) or not os.path.isfile(path):
        continue
    with open(path, "rb") as f:
        if b"\0" in f.read():
            continue
    files.append(path)
text = ""
for path in files:
    with open(path, encoding="utf-8", newline="") as f:
        text += f.read()

vocab = sorted(set(text))
index = {c: k for k, c in enumerate(vocab)}
tokens = np.array([index[c] for c in text], dtype=np.int64)


def windows(begin, end):
    starts = list(range(begin, end - seq_len, stride))
    inputs = np.array([tokens[s:s + seq_len] for s in starts], dtype=np.int64).reshape(-1, seq_len)
    targets = np.array([tokens[s + 1:s + seq_len + 1] for s in starts], dtype=np.int64).reshape(-1, seq_len)
    return inputs, targets


train = [windows(0, val_begin), windows(val_end, len(tokens))]
val = windows(val_begin, val_end)
with open(os.path.join(out, "files.txt"), "w") as f:
    f.write("".join(path + "\n" for path in files))
np.save(os.path.join(out, "vocab.npy"), np.array([ord(c) for c in vocab], dtype=np.int64))
np.save(os.path.join(out, "tokens.npy"), tokens)
np.save(os.path.join(out, "train_inputs.npy"), np.concatenate([train[0][0], train[1][0]]))
np.save(os.path.join(out, "train_targets.npy"), np.concatenate([train[0][1], train[1][1]]))
np.save(os.path.join(out, "val_inputs.npy"), val[0])
np.save(os.path.join(out, "val_targets.npy"), val[1])
