#!/usr/bin/python3
"""Generates the hostile-input corpus for the res2net CLI.

Usage:
    /usr/bin/python3 make_corpus.py OUTDIR [--cli CLI] [--model res2net_cifar_tiny] [--checkpoint FILE]
                                           [--big-model res2net50_26w_4s] [--only REGEX]

OUTDIR/_base     shared material: photos, a fake CIFAR-10 set, a trained checkpoint of --model (3 channels, 10 classes,
                 32 px; made with `CLI train` unless --checkpoint is given), its last.state, a zero-weights
                 checkpoint of --big-model made of stride-0 views (a few KB on disk).
OUTDIR/cases/ID  one folder per case: its inputs (files, folders, symlinks, FIFOs, sparse files).
OUTDIR/cases.json
    {"meta": {...}, "cases": [{"id", "class", "desc", "setup": [sh...], "steps": [{"cmd", "expect", ...}], ...}]}

Commands are bash strings with placeholders that run_corpus.py substitutes:
    {cli}   the res2net binary            {case}  this case's (copied) folder
    {base}  OUTDIR/_base                  {http}  base URL of the harness's hostile HTTP server
    {py}    /usr/bin/python3              {mk}    this script (for its --tamper helpers)
    {model} the small model name          {big}   the big model name
Symlinks inside a case are relative, so a copied case folder stays self-contained.

Also used by the harness during setup steps:
    make_corpus.py --tamper MODE FILE [ARGS]   (onnx cache tampering, weights rewriting)
"""
import argparse
import gzip
import io
import json
import os
import pickle
import re
import shutil
import socket
import stat
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from collections import OrderedDict

import numpy as np

PY = "/usr/bin/python3"
SELF = os.path.abspath(__file__)

# --------------------------------------------------------------------------------------------- small file helpers


def mkdirs(p):
    os.makedirs(p, exist_ok=True)
    return p


def write(path, data):
    mkdirs(os.path.dirname(path))
    with open(path, "wb") as f:
        f.write(data)
    return path


def sparse(path, size, head=b""):
    """A file of `size` bytes that costs only `head` on disk (the rest is a hole of zeros)."""
    mkdirs(os.path.dirname(path))
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)
    return path


def symlink(target, link):
    mkdirs(os.path.dirname(link))
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(target, link)
    return link


def fifo(path):
    mkdirs(os.path.dirname(path))
    if os.path.lexists(path):
        os.unlink(path)
    os.mkfifo(path)
    return path


def victim(path, text=b"VICTIM: must stay unchanged\n"):
    return write(path, text)


# --------------------------------------------------------------------------------------------- image helpers


def pil():
    from PIL import Image
    return Image


def photo(path, w=64, h=48, seed=0, fmt=None):
    Image = pil()
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    a = np.stack([(x * 255 // max(w - 1, 1)), (y * 255 // max(h - 1, 1)), (x + y) % 256], -1).astype(np.uint8)
    a = (a // 2 + rng.integers(0, 128, a.shape, dtype=np.uint8)).astype(np.uint8)
    mkdirs(os.path.dirname(path))
    Image.fromarray(a).save(path, format=fmt)
    return path


def png_chunk(typ, data):
    return struct.pack(">I", len(data)) + typ + data + struct.pack(">I", zlib.crc32(typ + data) & 0xFFFFFFFF)


def png_header_only(path, w, h, rows=1):
    """A PNG whose IHDR declares w x h (8-bit gray) with just a few rows of data: a tiny file, a huge promise."""
    raw = b"".join(b"\x00" + b"\x80" * min(w, 4096) for _ in range(rows))
    data = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))
    return write(path, data)


def png_real(path, w, h):
    """A complete, valid PNG of w x h, 1-bit (tiny file, expands to w*h*4 bytes of RGBA when decoded)."""
    Image = pil()
    mkdirs(os.path.dirname(path))
    Image.new("1", (w, h), 1).save(path, optimize=False)
    return path


def gif_huge_canvas(path, w, h):
    # Logical screen w x h with a global colour table, one 1x1 image: decoders allocate the canvas.
    d = b"GIF89a" + struct.pack("<HHBBB", w, h, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    d += b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00" + b"\x3b"
    return write(path, d)


def bmp_rle8_huge(path, w, h):
    # BITMAPINFOHEADER with RLE8 compression: the pixel data is just "end of bitmap".
    pal = b"\x00\x00\x00\x00" * 256
    pixels = b"\x00\x01"
    off = 14 + 40 + len(pal)
    hdr = b"BM" + struct.pack("<IHHI", off + len(pixels), 0, 0, off)
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 8, 1, len(pixels), 2835, 2835, 256, 0)
    return write(path, hdr + info + pal + pixels)


def npy_bytes(shape, descr="<f4", fortran=False, data=None):
    d = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, "True" if fortran else "False",
                                                                  "(%s,)" % shape[0] if len(shape) == 1 else str(tuple(shape)))
    total = 10 + len(d) + 1
    pad = (total + 63) // 64 * 64
    header = d + " " * (pad - total) + "\n"
    head = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1")
    return head if data is None else head + data


# --------------------------------------------------------------------------------------------- torch helpers


def torch():
    import torch as t
    return t


def zip_prefix(path):
    with zipfile.ZipFile(path) as z:
        for n in z.namelist():
            if n.endswith("/data.pkl") and n.count("/") == 1:
                return n[: -len("data.pkl")]
    return "archive/"


def read_meta(path):
    try:
        with zipfile.ZipFile(path) as z:
            p = zip_prefix(path)
            return z.read(p + "res2net/metadata.json")
    except (KeyError, zipfile.BadZipFile):
        return None


def save_sd(sd, path, meta=None, legacy=False, protocol=2):
    """torch.save a state dict; a zip one gets the res2net metadata entry back (torch.save drops it)."""
    t = torch()
    mkdirs(os.path.dirname(path))
    if legacy:
        t.save(sd, path, _use_new_zipfile_serialization=False, pickle_protocol=protocol)
        return path
    t.save(sd, path)
    if meta is not None:
        p = zip_prefix(path)
        with zipfile.ZipFile(path, "a") as z:
            z.writestr(p + "res2net/metadata.json", meta)
    return path


def load_sd(path):
    return torch().load(path, map_location="cpu")


class FakeStorage:
    def __init__(self, key, numel, storage_type="FloatStorage"):
        self.key, self.numel, self.storage_type = key, numel, storage_type


class FakeTensor:
    """Pickles as torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()), any values."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def __reduce__(self):
        t = torch()
        return (t._utils._rebuild_tensor_v2, (self.storage, self.offset, tuple(self.size), tuple(self.stride), False, OrderedDict()))


def fake_pickle(obj, protocol=2):
    t = torch()

    class P(pickle.Pickler):
        def persistent_id(self, o):
            if isinstance(o, FakeStorage):
                return ("storage", getattr(t, o.storage_type), o.key, "cpu", o.numel)
            return None

    b = io.BytesIO()
    P(b, protocol=protocol).dump(obj)
    return b.getvalue()


def write_zip_pth(path, data_pkl, storages=None, prefix="archive", compress=True, extra=None):
    """A zip checkpoint assembled by hand: data.pkl (deflated unless compress=False) and data/<key> entries."""
    mkdirs(os.path.dirname(path))
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo(prefix + "/data.pkl"), data_pkl,
                   compress_type=zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED, compresslevel=9)
        for k, v in (storages or {}).items():
            z.writestr(prefix + "/data/" + k, v, compress_type=zipfile.ZIP_STORED)
        z.writestr(prefix + "/version", b"3\n")
        z.writestr(prefix + "/byteorder", b"little")
        for k, v in (extra or {}).items():
            z.writestr(zipfile.ZipInfo(prefix + "/" + k), v, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return path


def repeat_chunks(head, unit, count, tail):
    """head + unit*count + tail as ~1 MB chunks (never the whole thing in memory)."""
    yield head
    per = max(1, (1 << 20) // len(unit))
    block = unit * per
    left = count
    while left > 0:
        n = min(per, left)
        yield block if n == per else unit * n
        left -= n
    yield tail


def write_zip_pth_stream(path, chunks, prefix="archive"):
    """A zip checkpoint whose (huge, repetitive) data.pkl is streamed through the deflater."""
    mkdirs(os.path.dirname(path))
    with zipfile.ZipFile(path, "w") as z:
        zi = zipfile.ZipInfo(prefix + "/data.pkl")
        zi.compress_type = zipfile.ZIP_DEFLATED
        zi._compresslevel = 6
        with z.open(zi, "w") as f:
            for ch in chunks:
                f.write(ch)
        z.writestr(prefix + "/version", b"3\n")
        z.writestr(prefix + "/byteorder", b"little")
    return path


def legacy_container(path, obj_pickle, keys_pickle, data=b"", version_pickle=None):
    """A legacy (non-zip) torch.save file from raw parts."""
    magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    version = version_pickle if version_pickle is not None else pickle.dumps(1001, protocol=2)
    sysinfo = pickle.dumps({"protocol_version": 1001, "little_endian": True,
                            "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2)
    return write(path, magic + version + sysinfo + obj_pickle + keys_pickle + data)


# --------------------------------------------------------------------------------------------- model shapes


def res2net_shapes(layers=(3, 4, 6, 3), base_width=26, scale=4, num_classes=1000):
    """Keys and shapes of the official Res2Net (res2net.py: Bottle2neck, 7x7 stem) state dict."""
    out = []

    def conv(name, o, i, k):
        out.append((name + ".weight", (o, i, k, k)))

    def bn(name, c):
        for s in ("weight", "bias", "running_mean", "running_var"):
            out.append((f"{name}.{s}", (c,)))
        out.append((f"{name}.num_batches_tracked", ()))

    conv("conv1", 64, 3, 7)
    bn("bn1", 64)
    inplanes = 64
    for li, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers)):
        for b in range(blocks):
            p = f"layer{li + 1}.{b}"
            width = int(planes * base_width / 64.0)
            conv(p + ".conv1", width * scale, inplanes, 1)
            bn(p + ".bn1", width * scale)
            for j in range(1 if scale == 1 else scale - 1):
                conv(f"{p}.convs.{j}", width, width, 3)
            for j in range(1 if scale == 1 else scale - 1):
                bn(f"{p}.bns.{j}", width)
            conv(p + ".conv3", planes * 4, width * scale, 1)
            bn(p + ".bn3", planes * 4)
            if b == 0 and (li > 0 or inplanes != planes * 4):
                conv(p + ".downsample.0", planes * 4, inplanes, 1)
                bn(p + ".downsample.1", planes * 4)
            inplanes = planes * 4
    out.append(("fc.weight", (num_classes, 2048)))
    out.append(("fc.bias", (num_classes,)))
    return out


def zero_view_sd(shapes, overrides=None):
    """A state dict of stride-0 views of one-element storages: any shape for a few bytes on disk."""
    t = torch()
    sd = OrderedDict()
    for k, s in shapes:
        if k.endswith("num_batches_tracked"):
            sd[k] = t.tensor(0, dtype=t.int64)
        elif k.endswith("running_var"):
            sd[k] = t.ones(1).expand(*s)
        else:
            sd[k] = t.zeros(1).expand(*s)
    for k, v in (overrides or {}).items():
        sd[k] = v
    return sd


# --------------------------------------------------------------------------------------------- ONNX wire helpers


def pb_varint(b, i):
    r = s = 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return r, i


def pb_enc_varint(v):
    o = bytearray()
    while True:
        c = v & 0x7F
        v >>= 7
        o.append(c | (0x80 if v else 0))
        if not v:
            return bytes(o)


def pb_fields(b, start=0, end=None):
    """Yields (field, wiretype, value_start, value_end, field_start) of a protobuf message."""
    i, end = start, len(b) if end is None else end
    while i < end:
        fs = i
        key, i = pb_varint(b, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            _, j = pb_varint(b, i)
            yield f, wt, i, j, fs
            i = j
        elif wt == 1:
            yield f, wt, i, i + 8, fs
            i += 8
        elif wt == 2:
            n, j = pb_varint(b, i)
            yield f, wt, j, j + n, fs
            i = j + n
        elif wt == 5:
            yield f, wt, i, i + 4, fs
            i += 4
        else:
            raise ValueError("unsupported wire type %d" % wt)


def onnx_initializers(b):
    """(name, data_type, raw_start, raw_end) of each initializer with raw_data."""
    res = []
    for f, wt, s, e, _ in pb_fields(b):
        if f == 7 and wt == 2:  # graph
            for g, gwt, gs, ge, _ in pb_fields(b, s, e):
                if g == 5 and gwt == 2:  # initializer
                    name, dt, raw = None, None, None
                    for tf, twt, ts, te, _ in pb_fields(b, gs, ge):
                        if tf == 8:
                            name = b[ts:te].decode("utf-8", "replace")
                        elif tf == 2:
                            dt = pb_varint(b, ts)[0]
                        elif tf == 9:
                            raw = (ts, te)
                    if raw:
                        res.append((name, dt, raw[0], raw[1]))
    return res


def onnx_metadata_fields(b):
    return [b[fs:e] for f, wt, s, e, fs in pb_fields(b) if f == 14]


def onnx_without_metadata(b):
    out = bytearray()
    for f, wt, s, e, fs in pb_fields(b):
        if f != 14:
            out += b[fs:e]
    return bytes(out)


# --------------------------------------------------------------------------------------------- tamper (setup helper)


def tamper(mode, target, args):
    """Setup-time helpers; `target` is usually a case folder."""
    import glob
    if mode in ("onnx-garbage", "onnx-other", "onnx-forged", "onnx-weights", "onnx-truncate", "onnx-empty", "onnx-fifo",
                "onnx-link-victim", "onnx-link-zero", "onnx-sparse", "onnx-dir"):
        found = [p for p in glob.glob(os.path.join(target, "w.*.onnx")) if re.search(r"\.[0-9a-f]{16}\.onnx$", p)]
        if len(found) != 1:
            sys.exit(f"tamper: expected one cached export w.KEY.onnx in {target}, found {found}")
        p = found[0]
        real = open(p, "rb").read()
        if mode == "onnx-garbage":
            write(p, os.urandom(4096))
        elif mode == "onnx-other":
            shutil.copyfile(os.path.join(target, "other.onnx"), p)
        elif mode == "onnx-forged":
            other = open(os.path.join(target, "other.onnx"), "rb").read()
            write(p, onnx_without_metadata(other) + b"".join(onnx_metadata_fields(real)))
        elif mode == "onnx-weights":
            b = bytearray(real)
            n = 0
            for name, dt, s, e in onnx_initializers(b):
                if dt == 1 and e - s >= 64:
                    vals = np.frombuffer(bytes(b[s:e]), dtype="<f4").copy()
                    vals = -vals[::-1] * 3.0 + 0.5
                    b[s:e] = vals.astype("<f4").tobytes()
                    n += 1
            if n == 0:
                sys.exit("tamper: no float initializer found")
            write(p, bytes(b))
        elif mode == "onnx-truncate":
            write(p, real[: len(real) // 2])
        elif mode == "onnx-empty":
            write(p, b"")
        elif mode == "onnx-fifo":
            os.unlink(p)
            os.mkfifo(p)
        elif mode == "onnx-link-victim":
            os.unlink(p)
            os.symlink("victim.onnx", p)
        elif mode == "onnx-link-zero":
            os.unlink(p)
            os.symlink("/dev/zero", p)
        elif mode == "onnx-sparse":
            sparse(p, 3 << 30, real[:4096])
        elif mode == "onnx-dir":
            os.unlink(p)
            os.mkdir(p)
            write(os.path.join(p, "x"), b"x")
        print(f"tampered {p} ({mode})")
    elif mode == "weights-scale":
        # Rewrites a checkpoint with the classifier changed (same container kind, metadata kept).
        meta = read_meta(target)
        sd = load_sd(target)
        sd["fc.weight"] = sd["fc.weight"].flip(0) * 5.0
        sd["fc.bias"] = sd["fc.bias"].flip(0) + 1.0
        save_sd(sd, target, meta)
    elif mode == "socket":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(target)
        s.close()
    else:
        sys.exit("unknown tamper mode " + mode)


# --------------------------------------------------------------------------------------------- base material


def cifar_batch(n, seed):
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 10).astype(np.uint8)
    imgs = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    # give classes a visible signal so training is not pure noise
    for c in range(10):
        imgs[labels == c, c * 300:(c + 1) * 300] = 255
    return np.concatenate([labels[:, None], imgs], 1).tobytes()


def make_cifar(d, per_batch, test, seed=1):
    mkdirs(d)
    for i in range(1, 6):
        write(os.path.join(d, f"data_batch_{i}.bin"), cifar_batch(per_batch, seed + i))
    write(os.path.join(d, "test_batch.bin"), cifar_batch(test, seed + 99))
    return d


def idx_images(n, rows=28, cols=28, seed=0):
    rng = np.random.default_rng(seed)
    return struct.pack(">IIII", 0x803, n, rows, cols) + rng.integers(0, 256, n * rows * cols, dtype=np.uint8).tobytes()


def idx_labels(n):
    return struct.pack(">II", 0x801, n) + (np.arange(n) % 10).astype(np.uint8).tobytes()


def make_idx(d, n_train=20, n_test=10, gz=True):
    mkdirs(d)
    parts = {"train-images-idx3-ubyte": idx_images(n_train), "train-labels-idx1-ubyte": idx_labels(n_train),
             "t10k-images-idx3-ubyte": idx_images(n_test, seed=1), "t10k-labels-idx1-ubyte": idx_labels(n_test)}
    for k, v in parts.items():
        if gz:
            write(os.path.join(d, k + ".gz"), gzip.compress(v))
        else:
            write(os.path.join(d, k), v)
    return d


def make_imagefolder(d, classes=("cat", "dog"), per=3, size=(40, 36)):
    for split in ("train", "val"):
        for ci, c in enumerate(classes):
            for i in range(per):
                photo(os.path.join(d, split, c, f"{i}.png"), *size, seed=100 * ci + i + (7 if split == "val" else 0))
    return d


def run(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def make_base(out, args):
    base = mkdirs(os.path.join(out, "_base"))
    photos = mkdirs(os.path.join(base, "photos"))
    photo(os.path.join(photos, "a.jpg"), 64, 48, 1)
    photo(os.path.join(photos, "b.png"), 50, 70, 2)
    photo(os.path.join(photos, "c.bmp"), 40, 40, 3)
    make_cifar(os.path.join(base, "cifar"), 20, 20)
    make_cifar(os.path.join(base, "cifar_big"), 1000, 100, seed=11)
    make_idx(os.path.join(base, "idx"))
    # 400 distinct photos (distinct inodes: folders skip a file met twice) for Ctrl-C cases
    many = mkdirs(os.path.join(base, "many"))
    Image = pil()
    for i in range(400):
        a = np.full((40, 40, 3), (i * 7 % 256, i * 13 % 256, i * 29 % 256), np.uint8)
        Image.fromarray(a).save(os.path.join(many, f"p{i:03d}.png"))

    run_dir = os.path.join(base, "run")
    ckpt = os.path.join(base, "ckpt.pth")
    if args.checkpoint:
        shutil.copyfile(args.checkpoint, ckpt)
    if args.cli:
        if not os.path.exists(os.path.join(run_dir, "last.state")):
            run([args.cli, "train", "--model", args.model, "--data", os.path.join(base, "cifar"), "--epochs", "1",
                 "--batch-size", "32", "--out", run_dir])
        if not args.checkpoint:
            shutil.copyfile(os.path.join(run_dir, "best.pth"), ckpt)
        shutil.copyfile(os.path.join(run_dir, "classes.txt"), os.path.join(base, "classes.txt"))
        models = json.loads(subprocess.run([args.cli, "models", "--format", "json"], check=True,
                                           capture_output=True, text=True).stdout)
        big = [m for m in models if m["name"] == args.big_model or args.big_model in m.get("aliases", [])][0]
        weights_name = big["pretrained"].rsplit("/", 1)[1]
    else:
        weights_name = "res2net50_26w_4s-06e79181.pth"
    if not os.path.exists(ckpt):
        sys.exit("need --cli (to train a base checkpoint) or --checkpoint")

    # the big model: a zero checkpoint of stride-0 views (few KB; ~100 MB once read)
    save_sd(zero_view_sd(res2net_shapes()), os.path.join(base, "big_zero.pth"))
    return base, ckpt, weights_name


# --------------------------------------------------------------------------------------------- the cases


class Corpus:
    def __init__(self, out, only):
        self.out = out
        self.only = re.compile(only) if only else None
        self.cases = []

    def case(self, cid, cls, desc, steps, setup=None, make=None, protect=None, allow=None, must_not_exist=None):
        """steps: a list of dicts {cmd, expect ('error'|'ok'|'any'|'rc=N'), json?, ref?, interrupt_after?, timeout?}."""
        if self.only and not self.only.search(cid):
            return
        d = mkdirs(os.path.join(self.out, "cases", cid))
        t0 = time.time()
        if make:
            make(d)
        if time.time() - t0 > 2:
            print(f"  {cid}: {time.time() - t0:.1f} s to generate", flush=True)
        self.cases.append({"id": cid, "class": cls, "desc": desc, "setup": setup or [], "steps": steps,
                           "protect": protect or [], "allow": allow or [], "must_not_exist": must_not_exist or []})


def S(cmd, expect="error", **kw):
    d = {"cmd": cmd, "expect": expect}
    d.update(kw)
    return d


def build_cases(c, base, ckpt, weights_name, model, big):
    t = torch()
    sd = load_sd(ckpt)
    meta = read_meta(ckpt)
    stem_out = sd["conv1.weight"].shape[0]
    fc_in = sd["fc.weight"].shape[1]
    W = "--weights {case}/w.pth"
    TINY = "{cli} classify --model {model}"
    PH = "{base}/photos/a.jpg"

    def with_sd(overrides=None, drop=(), name="w.pth", legacy=False, protocol=2):
        def mk(d):
            s = OrderedDict((k, v) for k, v in sd.items() if k not in drop)
            for k, v in (overrides or {}).items():
                s[k] = v
            save_sd(s, os.path.join(d, name), meta, legacy=legacy, protocol=protocol)
        return mk

    # ================================================================ A: small files, unbounded cost
    def dag(kind, depth=60, legacy=False):
        def mk(d):
            x = {"conv1.weight": t.zeros(2)}
            for _ in range(depth):
                if kind == "dict":
                    x = {"a": x, "b": x}
                elif kind == "list":
                    x = [x, x]
                elif kind == "tuple":
                    x = (x, x)
                elif kind == "wrapper":
                    x = {"state_dict": x, "model": x}
            mkdirs(d)
            if legacy:
                t.save(x, os.path.join(d, "w.pth"), _use_new_zipfile_serialization=False)
            else:
                t.save(x, os.path.join(d, "w.pth"))
        return mk

    c.case("A01-dag-dict60-inspect", "A", "zip .pth: 60 nested dicts each holding the previous one twice (2^60 paths as a tree)",
           [S("{cli} inspect {case}/w.pth")], make=dag("dict"))
    c.case("A02-dag-dict60-classify", "A", "the 2^60 dict DAG as --weights of classify",
           [S(f"{TINY} {W} {PH}")], make=dag("dict"))
    c.case("A03-dag-list60-inspect", "A", "zip .pth: 60 nested lists [prev, prev]",
           [S("{cli} inspect {case}/w.pth")], make=dag("list"))
    c.case("A05-dag-wrapper60-classify", "A", "zip .pth: 60 levels of {'state_dict': prev, 'model': prev} (wrapper keys the loader unwraps)",
           [S(f"{TINY} {W} {PH}")], make=dag("wrapper"))
    c.case("A06-dag-dict60-legacy-inspect", "A", "legacy .pth holding the 2^60 dict DAG",
           [S("{cli} inspect {case}/w.pth")], make=dag("dict", legacy=True))

    def pkl_bomb(head, unit, count, tail):
        def mk(d):
            write_zip_pth_stream(os.path.join(d, "w.pth"), repeat_chunks(head, unit, count, tail))
        return mk

    P4 = b"\x80\x04"
    c.case("A07-pkl-memoize-30M", "A", "data.pkl: one None then 30 million MEMOIZE opcodes (30 MB, deflated to ~30 KB)",
           [S("{cli} inspect {case}/w.pth")], make=pkl_bomb(P4 + b"N", b"\x94", 30_000_000, b"."))

    def ascending(head, fields, n, tail):
        """head + n records built by numpy (fields: list of (name, dtype, value or 'i' for the index)) + tail."""
        def chunks():
            yield head
            dt = np.dtype([(f, d) for f, d, _ in fields])
            for s0 in range(0, n, 1_000_000):
                m = min(n, s0 + 1_000_000) - s0
                a = np.zeros(m, dt)
                for f, d, v in fields:
                    a[f] = np.arange(s0, s0 + m) if v == "i" else v
                yield a.tobytes()
            yield tail

        def mk(d):
            write_zip_pth_stream(os.path.join(d, "w.pth"), chunks())
        return mk
    c.case("A09-pkl-long-binput-12M", "A", "data.pkl: 12 million LONG_BINPUT to ascending memo slots (60 MB, deflated)",
           [S("{cli} inspect {case}/w.pth")],
           make=ascending(P4 + b"N", [("op", "u1", ord("r")), ("i", "<u4", "i")], 12_000_000, b"."))
    c.case("A10-pkl-binget-stack-40M", "A", "data.pkl: BINPUT 0 then 40 million BINGET 0 (a 40M-deep stack)",
           [S("{cli} inspect {case}/w.pth")], make=pkl_bomb(P4 + b"Nq\x00", b"h\x00", 40_000_000, b"."))
    c.case("A11-pkl-mark-40M", "A", "data.pkl: 40 million MARK opcodes",
           [S("{cli} inspect {case}/w.pth")], make=pkl_bomb(P4, b"(", 40_000_000, b"N."))
    c.case("A12-pkl-none-50M", "A", "data.pkl: 50 million NONE pushes (stack growth), then STOP",
           [S("{cli} inspect {case}/w.pth")], make=pkl_bomb(P4, b"N", 50_000_000, b"."))
    c.case("A13-pkl-dict-15M-items", "A", "data.pkl: EMPTY_DICT then 15 million SETITEM with distinct int keys (105 MB, deflated)",
           [S("{cli} inspect {case}/w.pth")],
           make=ascending(P4 + b"}", [("op", "u1", ord("J")), ("i", "<i4", "i"), ("n", "u1", ord("N")), ("s", "u1", ord("s"))],
                          15_000_000, b"."))

    def huge_int_numel(d):
        big_int = int.from_bytes(b"\x7f" * (4 << 20), "little")
        st = FakeStorage("0", big_int)
        obj = OrderedDict([("conv1.weight", FakeTensor(st, 0, (2,), (1,)))])
        write_zip_pth(os.path.join(d, "w.pth"), fake_pickle(obj), {"0": b"\0" * 8})
    c.case("A14-pkl-numel-4MB-integer", "A", "storage element count pickled as a 4 MB LONG4 integer (error messages that print it)",
           [S("{cli} inspect {case}/w.pth")], make=huge_int_numel)

    def huge_int_shape(d):
        big_int = int.from_bytes(b"\x7f" * (2 << 20), "little")
        st = FakeStorage("0", 2)
        obj = OrderedDict([("conv1.weight", FakeTensor(st, 0, (big_int, 2), (1, 1)))])
        write_zip_pth(os.path.join(d, "w.pth"), fake_pickle(obj), {"0": b"\0" * 8})
    c.case("A15-pkl-shape-2MB-integer", "A", "tensor size tuple holding a 2 MB integer",
           [S("{cli} inspect {case}/w.pth")], make=huge_int_shape)

    def legacy_huge_version(d):
        n = 4 << 20
        vp = b"\x80\x02\x8b" + struct.pack("<i", n) + b"\x7f" * n + b"."
        legacy_container(os.path.join(d, "w.pth"), pickle.dumps({}, protocol=2), pickle.dumps([], protocol=2),
                         version_pickle=vp)
    c.case("A16-legacy-version-4MB-integer", "A", "legacy .pth whose protocol-version pickle is a 4 MB integer",
           [S("{cli} inspect {case}/w.pth")], make=legacy_huge_version)

    def expanded(n, count, dtype="float32", legacy=False, base_sd=False):
        def mk(d):
            dt = getattr(t, dtype)
            s = OrderedDict(sd) if base_sd else OrderedDict()
            for i in range(count):
                s[f"junk.{i}"] = t.zeros(1, dtype=dt).expand(n)
            save_sd(s, os.path.join(d, "w.pth"), meta if base_sd else None, legacy=legacy)
        return mk
    c.case("A17-expand-250M-x8-inspect", "A", "8 tensors saved as torch.zeros(1).expand(250_000_000) (stride 0): 1 GB each once copied",
           [S("{cli} inspect {case}/w.pth")], make=expanded(250_000_000, 8))
    c.case("A18-expand-250M-x8-classify", "A", "valid checkpoint plus 8 extra stride-0 tensors of 250M elements, as --weights",
           [S(f"{TINY} {W} {PH}")], make=expanded(250_000_000, 8, base_sd=True))
    c.case("A19-expand-int8-2G-inspect", "A", "one int8 stride-0 view of 2,000,000,000 elements (2 GB, element-by-element copy)",
           [S("{cli} inspect {case}/w.pth")], make=expanded(2_000_000_000, 1, dtype="int8"))
    c.case("A20-expand-legacy-250M-x4", "A", "legacy .pth with 4 stride-0 views of 250M elements",
           [S("{cli} inspect {case}/w.pth")], make=expanded(250_000_000, 4, legacy=True))
    c.case("A21-fc-2000000x0-pth", "A", "fc.weight of shape [2000000, 0] (no data) and a stride-0 fc.bias [2000000]: 2M classes, 0 inputs",
           [S(f"{TINY} {W} {PH}")],
           make=with_sd({"fc.weight": t.zeros(2_000_000, 0), "fc.bias": t.zeros(1).expand(2_000_000)}))

    def safetensors(d, name, tensors, sparse_tail=True):
        """tensors: list of (key, dtype_str, shape, bytes or int size). Int sizes are zeros, put last, sparse."""
        hdr, off, blobs = {}, 0, []
        for k, dt, shape, data in tensors:
            n = data if isinstance(data, int) else len(data)
            hdr[k] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + n]}
            blobs.append(data)
            off += n
        h = json.dumps(hdr).encode()
        h += b" " * (-len(h) % 8)
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h)
            for b in blobs:
                if isinstance(b, int):
                    f.seek(b, 1)
                else:
                    f.write(b)
            f.truncate()
        return p

    def st_from_sd(overrides_meta):
        def mk(d):
            items = []
            for k, v in sd.items():
                if k in overrides_meta:
                    continue
                a = v.contiguous().numpy()
                items.append((k, {"float32": "F32", "int64": "I64"}[str(a.dtype)], a.shape, a.tobytes()))
            for k, (shape, size) in overrides_meta.items():
                items.append((k, "F32", shape, size))
            safetensors(d, "w.safetensors", items)
        return mk
    c.case("A23-st-fc-2000000x0", "A", "safetensors with fc.weight [2000000, 0] and fc.bias [2000000] (8 MB hole)",
           [S(TINY + " --weights {case}/w.safetensors " + PH)],
           make=st_from_sd({"fc.weight": ((2_000_000, 0), 0), "fc.bias": ((2_000_000,), 8_000_000)}))
    c.case("A24-st-fc-4Mx128-sparse", "A", f"safetensors with fc.weight [4000000, {fc_in}] in a 2 GB sparse file (4M classes)",
           [S(TINY + " --weights {case}/w.safetensors " + PH)],
           make=st_from_sd({"fc.weight": ((4_000_000, fc_in), 4_000_000 * fc_in * 4), "fc.bias": ((4_000_000,), 16_000_000)}))
    c.case("A25-big-fc-250000x2048-view", "A", "zero checkpoint of the big model with fc.weight a stride-0 view [250000, 2048] (2 GB once copied)",
           [S("{cli} classify --model {big} --weights {case}/w.pth " + PH)],
           make=lambda d: save_sd(zero_view_sd(res2net_shapes(num_classes=250_000)), os.path.join(d, "w.pth")))
    c.case("A26-big-stem-2M-channels-view", "A", "big model, conv1.weight a stride-0 view [64, 2000000, 7, 7] (6.3G elements)",
           [S("{cli} classify --model {big} --weights {case}/w.pth " + PH)],
           make=lambda d: save_sd(zero_view_sd(res2net_shapes(), {"conv1.weight": t.zeros(1).expand(64, 2_000_000, 7, 7)}),
                                  os.path.join(d, "w.pth")))
    c.case("A27-stem-60000-channels", "A", f"small model, conv1.weight a stride-0 view [{stem_out}, 60000, 3, 3] (a 60000-channel stem)",
           [S(f"{TINY} {W} {PH}")], make=with_sd({"conv1.weight": t.zeros(1).expand(stem_out, 60000, 3, 3)}))
    c.case("A28-stem-2M-channels", "A", f"small model, conv1.weight [{stem_out}, 2000000, 3, 3] stride-0 (288M elements)",
           [S(f"{TINY} {W} {PH}")], make=with_sd({"conv1.weight": t.zeros(1).expand(stem_out, 2_000_000, 3, 3)}))
    c.case("A29-stem-0-channels", "A", f"small model, conv1.weight [{stem_out}, 0, 3, 3] (a 0-channel stem)",
           [S(f"{TINY} {W} {PH}")], make=with_sd({"conv1.weight": t.zeros(stem_out, 0, 3, 3)}))
    c.case("A30-fc-3Mx-classes-view", "A", f"small model, fc.weight stride-0 [3000000, {fc_in}] + fc.bias [3000000]: 3M classes",
           [S(f"{TINY} {W} {PH}")],
           make=with_sd({"fc.weight": t.zeros(1).expand(3_000_000, fc_in), "fc.bias": t.zeros(1).expand(3_000_000)}))

    def idx_bomb(d):
        dd = mkdirs(os.path.join(d, "data"))
        co = zlib.compressobj(9, zlib.DEFLATED, 31)
        with open(os.path.join(dd, "train-images-idx3-ubyte.gz"), "wb") as f:
            f.write(co.compress(struct.pack(">IIII", 0x803, 20, 28, 28)))
            z = b"\0" * (1 << 24)
            for _ in range(64):
                f.write(co.compress(z))
            f.write(co.flush())
        write(os.path.join(dd, "train-labels-idx1-ubyte.gz"), gzip.compress(idx_labels(20)))
        write(os.path.join(dd, "t10k-images-idx3-ubyte.gz"), gzip.compress(idx_images(10)))
        write(os.path.join(dd, "t10k-labels-idx1-ubyte.gz"), gzip.compress(idx_labels(10)))
    c.case("A31-idx-gzip-bomb-1GiB", "A", "gzipped IDX (1 MB) inflating to 1 GiB, header promising 20 images of 28x28",
           [S("{cli} train --model {model} --data {case}/data --epochs 1 --out {case}/out")], make=idx_bomb)

    def idx_sparse(d):
        dd = make_idx(os.path.join(d, "data"), gz=False)
        sparse(os.path.join(dd, "train-images-idx3-ubyte"), (1 << 30) + (200 << 20), struct.pack(">IIII", 0x803, 20, 28, 28))
    c.case("A33-idx-plain-sparse-1.2GiB", "A", "uncompressed IDX, header 20 images, file 1.2 GiB (sparse)",
           [S("{cli} train --model {model} --data {case}/data --epochs 1 --out {case}/out")], make=idx_sparse)

    c.case("A34-png-1x100000", "A", "PNG 1 pixel wide, 100000 high",
           [S(f"{TINY} {W} " + "{case}/tall.png", expect="any")], make=lambda d: (with_sd()(d), png_real(os.path.join(d, "tall.png"), 1, 100000)))
    c.case("A35-png-100000x1-cam", "A", "PNG 100000 wide, 1 high, explained by cam (the whole photo, no crop)",
           [S("{cli} cam --model {model} --weights {case}/w.pth --output {case}/cam.png {case}/wide.png")],
           make=lambda d: (with_sd()(d), png_real(os.path.join(d, "wide.png"), 100000, 1)))
    c.case("A36-png-60000x60000-header", "A", "PNG whose IHDR says 60000x60000 (200-byte file)",
           [S(f"{TINY} {W} " + "{case}/huge.png")], make=lambda d: (with_sd()(d), png_header_only(os.path.join(d, "huge.png"), 60000, 60000)))
    c.case("A37-png-13000x13000-real", "A", "valid 1-bit PNG 13000x13000 (~40 KB; 676 MB of RGBA, under the 179M-pixel cap)",
           [S(f"{TINY} {W} " + "{case}/big.png", expect="any")], make=lambda d: (with_sd()(d), png_real(os.path.join(d, "big.png"), 13000, 13000)))

    def four_big(d):
        with_sd()(d)
        png_real(os.path.join(d, "dir", "0.png"), 13000, 13000)
        for i in range(1, 4):
            shutil.copyfile(os.path.join(d, "dir", "0.png"), os.path.join(d, "dir", f"{i}.png"))
    c.case("A38-folder-4x-png-13000", "A", "folder of 4 distinct 13000x13000 PNGs in one batch (decode-ahead holds several)",
           [S(f"{TINY} {W} " + "{case}/dir", expect="any")], make=four_big)

    def prog_jpeg(d):
        with_sd()(d)
        Image = pil()
        Image.new("L", (13000, 13000), 128).save(os.path.join(d, "big.jpg"), progressive=True, quality=50)
    c.case("A39-jpeg-progressive-13000", "A", "progressive grayscale JPEG 13000x13000",
           [S(f"{TINY} {W} " + "{case}/big.jpg", expect="any")], make=prog_jpeg)
    c.case("A40-gif-canvas-13000", "A", "GIF with a 13000x13000 logical screen and a 1x1 frame (60-byte file)",
           [S(f"{TINY} {W} " + "{case}/big.gif", expect="any")], make=lambda d: (with_sd()(d), gif_huge_canvas(os.path.join(d, "big.gif"), 13000, 13000)))
    c.case("A41-bmp-rle8-13000", "A", "RLE8 BMP 13000x13000 whose data is one end-of-bitmap code (1 KB)",
           [S(f"{TINY} {W} " + "{case}/big.bmp", expect="any")], make=lambda d: (with_sd()(d), bmp_rle8_huge(os.path.join(d, "big.bmp"), 13000, 13000)))

    # devices and FIFOs as inputs
    c.case("A42-devzero-classify", "A", "/dev/zero named as a photo", [S(f"{TINY} --weights {{base}}/ckpt.pth /dev/zero")])
    c.case("A43-devzero-inspect", "A", "inspect /dev/zero", [S("{cli} inspect /dev/zero")])
    c.case("A44-devzero-weights", "A", "--weights /dev/zero", [S(f"{TINY} --weights /dev/zero {PH}")])
    c.case("A46-devzero-link-jpg", "A", "a symlink z.jpg -> /dev/zero named as a photo",
           [S(f"{TINY} --weights {{base}}/ckpt.pth {{case}}/z.jpg")], make=lambda d: symlink("/dev/zero", os.path.join(d, "z.jpg")))
    c.case("A48-fifo-photo", "A", "a FIFO x.jpg named as a photo (no writer)",
           [S(f"{TINY} --weights {{base}}/ckpt.pth {{case}}/x.jpg")], make=lambda d: fifo(os.path.join(d, "x.jpg")))
    c.case("A49-fifo-weights", "A", "a FIFO as --weights", [S(f"{TINY} --weights {{case}}/w.pth {PH}")],
           make=lambda d: fifo(os.path.join(d, "w.pth")))
    c.case("A50-fifo-inspect", "A", "inspect a FIFO", [S("{cli} inspect {case}/w.pth")], make=lambda d: fifo(os.path.join(d, "w.pth")))
    c.case("A51-fifo-npy", "A", "a FIFO x.npy as input of features",
           [S("{cli} features --model {model} --weights {base}/ckpt.pth --output {case}/f.npy {case}/x.npy")],
           make=lambda d: fifo(os.path.join(d, "x.npy")))
    c.case("A52-fifo-cam", "A", "cam of a FIFO", [S("{cli} cam --model {model} --weights {base}/ckpt.pth --output {case}/c.png {case}/x.png")],
           make=lambda d: fifo(os.path.join(d, "x.png")))
    c.case("A53-fifo-calibrate", "A", "export --int8 --calibrate a FIFO",
           [S("{cli} export --model {model} --weights {base}/ckpt.pth --int8 --size 32 --calibrate {case}/x.jpg --output {case}/q.onnx")],
           make=lambda d: fifo(os.path.join(d, "x.jpg")))

    def cifar_with(kind):
        def mk(d):
            dd = make_cifar(os.path.join(d, "data"), 10, 10)
            p = os.path.join(dd, "data_batch_1.bin")
            os.unlink(p)
            if kind == "fifo":
                fifo(p)
            elif kind == "zero":
                symlink("/dev/zero", p)
            elif kind == "sparse19":
                sparse(p, 3073 * 618_000, cifar_batch(10, 5))
            elif kind == "sparse25":
                sparse(p, 3073 * 813_500, cifar_batch(10, 5))
            elif kind == "dir":
                mkdirs(p)
        return mk
    c.case("A54-cifar-batch-fifo", "A", "CIFAR data_batch_1.bin is a FIFO", [S("{cli} train --model {model} --data {case}/data --epochs 1 --out {case}/out")], make=cifar_with("fifo"))
    c.case("A55-cifar-batch-devzero", "A", "CIFAR data_batch_1.bin -> /dev/zero", [S("{cli} train --model {model} --data {case}/data --epochs 1 --out {case}/out")], make=cifar_with("zero"))
    c.case("A56-cifar-batch-sparse-1.9GB", "A", "CIFAR data_batch_1.bin of 1.9 GB (sparse, whole records)", [S("{cli} train --model {model} --data {case}/data --epochs 1 --out {case}/out")], make=cifar_with("sparse19"))
    c.case("A57-cifar-batch-sparse-2.5GB", "A", "CIFAR data_batch_1.bin of 2.5 GB (sparse, whole records)", [S("{cli} train --model {model} --data {case}/data --epochs 1 --out {case}/out")], make=cifar_with("sparse25"))

    def idx_with(kind):
        def mk(d):
            dd = make_idx(os.path.join(d, "data"), gz=False)
            p = os.path.join(dd, "train-images-idx3-ubyte")
            os.unlink(p)
            fifo(p) if kind == "fifo" else symlink("/dev/zero", p)
        return mk
    c.case("A59-idx-fifo", "A", "IDX train-images-idx3-ubyte is a FIFO", [S("{cli} train --model {model} --data {case}/data --epochs 1 --out {case}/out")], make=idx_with("fifo"))
    c.case("A60-idx-devzero", "A", "IDX train-images-idx3-ubyte -> /dev/zero", [S("{cli} train --model {model} --data {case}/data --epochs 1 --out {case}/out")], make=idx_with("zero"))

    n19 = 1_900_000_000 // (3 * 32 * 32 * 4)
    c.case("A61-npy-sparse-1.9GB", "A", f"an .npy of shape ({n19}, 3, 32, 32) float32: 1.9 GB, sparse",
           [S(f"{TINY} --weights {{base}}/ckpt.pth {{case}}/x.npy", expect="any")],
           make=lambda d: sparse(os.path.join(d, "x.npy"), 128 + n19 * 12288, npy_bytes((n19, 3, 32, 32))))
    c.case("A62-jpeg-sparse-1GiB", "A", "a 1 GiB file x.jpg (JPEG SOI then a hole)",
           [S(f"{TINY} --weights {{base}}/ckpt.pth {{case}}/x.jpg")], make=lambda d: sparse(os.path.join(d, "x.jpg"), 1 << 30, b"\xff\xd8\xff\xe0"))
    c.case("A63-folder-4x-jpeg-sparse-1GiB", "A", "a folder of four 1 GiB sparse .jpg files (decode-ahead)",
           [S(f"{TINY} --weights {{base}}/ckpt.pth {{case}}/dir")],
           make=lambda d: [sparse(os.path.join(d, "dir", f"{i}.jpg"), 1 << 30, b"\xff\xd8\xff\xe0") for i in range(4)])

    def pth_meta_bomb(d):
        s = OrderedDict(sd)
        p = save_sd(s, os.path.join(d, "w.pth"))
        pre = zip_prefix(p)
        with zipfile.ZipFile(p, "a") as z:
            zi = zipfile.ZipInfo(pre + "res2net/metadata.json")
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, b"[" * (60 << 20))
    c.case("A64-pth-metadata-60MB-nesting", "A", "checkpoint whose res2net/metadata.json is 60 MB of '[' (deflated to 60 KB)",
           [S(f"{TINY} {W} {PH}", expect="any")], make=pth_meta_bomb)

    def pth_many_entries(d):
        p = save_sd(OrderedDict(sd), os.path.join(d, "w.pth"), meta)
        pre = zip_prefix(p)
        with zipfile.ZipFile(p, "a") as z:
            for i in range(100_000):
                z.writestr(pre + f"junk/{i}", b"")
    c.case("A65-pth-100k-zip-entries", "A", "valid checkpoint plus 100,000 empty zip entries",
           [S(f"{TINY} {W} {PH}", expect="any")], make=pth_many_entries)

    def st_header_many(d):
        hdr = {f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(400_000)}
        h = json.dumps(hdr).encode()
        write(os.path.join(d, "w.safetensors"), struct.pack("<Q", len(h)) + h)
    c.case("A66-st-header-400k-tensors", "A", "safetensors header with 400,000 empty tensors (24 MB of JSON)",
           [S("{cli} inspect {case}/w.safetensors", expect="any")], make=st_header_many)

    def st_deep(d):
        h = b'{"a":' + b"[" * 5_000_000 + b"]" * 5_000_000 + b"}"
        write(os.path.join(d, "w.safetensors"), struct.pack("<Q", len(h)) + h)
    c.case("A67-st-header-deep-json", "A", "safetensors header nesting 5 million arrays",
           [S("{cli} inspect {case}/w.safetensors")], make=st_deep)

    # ================================================================ B: folders that never end
    def tree(kind):
        def mk(d):
            r = mkdirs(os.path.join(d, "dir"))
            photo(os.path.join(r, "ok.jpg"), 40, 40, 5)
            if kind in ("dot", "all"):
                symlink(".", os.path.join(r, "again"))
            if kind in ("parent", "all"):
                mkdirs(os.path.join(r, "sub"))
                symlink("..", os.path.join(r, "sub", "up"))
                symlink("../..", os.path.join(r, "sub", "upup"))
            if kind == "mutual":
                mkdirs(os.path.join(r, "a"))
                mkdirs(os.path.join(r, "b"))
                symlink("../b", os.path.join(r, "a", "tob"))
                symlink("../a", os.path.join(r, "b", "toa"))
            if kind in ("fifo", "all"):
                fifo(os.path.join(r, "x.jpg"))
            if kind in ("dangling", "all"):
                symlink("nothing-here.jpg", os.path.join(r, "y.jpg"))
            if kind == "selfloop":
                symlink("z.jpg", os.path.join(r, "z.jpg"))
                symlink("l2.jpg", os.path.join(r, "l1.jpg"))
                symlink("l1.jpg", os.path.join(r, "l2.jpg"))
            if kind == "chain":
                prev = "ok.jpg"
                for i in range(45):
                    symlink(prev, os.path.join(r, f"c{i:02d}.jpg"))
                    prev = f"c{i:02d}.jpg"
            if kind == "deep":
                p = r
                for i in range(400):
                    p = os.path.join(p, "d")
                photo(os.path.join(p, "deep.jpg"), 30, 30, 6)
            if kind == "root":
                symlink("/", os.path.join(r, "slash"))
            if kind == "manydirs":
                for i in range(5000):
                    os.mkdir(os.path.join(r, f"e{i:05d}"))
        return mk
    CL = TINY + " --weights {base}/ckpt.pth {case}/dir"
    c.case("B01-loop-dot", "B", "folder with `again -> .`", [S(CL, expect="ok")], make=tree("dot"))
    c.case("B02-loop-parent", "B", "folder with sub/up -> .. and sub/upup -> ../..", [S(CL, expect="ok")], make=tree("parent"))
    c.case("B03-loop-mutual", "B", "a/tob -> ../b and b/toa -> ../a", [S(CL, expect="ok")], make=tree("mutual"))
    c.case("B04-fifo-x-jpg", "B", "a FIFO named x.jpg inside the folder (plus one good photo)", [S(CL, expect="ok")], make=tree("fifo"))
    c.case("B05-dangling-y-jpg", "B", "a dangling link y.jpg inside the folder", [S(CL, expect="ok")], make=tree("dangling"))
    c.case("B06-all-of-them", "B", "loops, FIFO and dangling link together", [S(CL, expect="ok")], make=tree("all"))
    c.case("B07-self-loop-links", "B", "z.jpg -> z.jpg and l1.jpg <-> l2.jpg (ELOOP)", [S(CL, expect="ok")], make=tree("selfloop"))
    c.case("B08-chain-45-links", "B", "a chain of 45 links to a photo (past the kernel's 40-link limit)", [S(CL, expect="ok")], make=tree("chain"))
    c.case("B09-deep-400", "B", "a photo 400 folders deep", [S(CL, expect="any")], make=tree("deep"))
    c.case("B10-link-to-root", "B", "a link slash -> / inside the folder (walks the whole filesystem)", [S(CL, expect="any")], make=tree("root"))
    c.case("B11-5000-empty-dirs", "B", "5000 empty sub-folders", [S(CL, expect="ok")], make=tree("manydirs"))
    c.case("B12-socket-jpg", "B", "a unix socket s.jpg in the folder", [S(CL, expect="ok")],
           setup=["{py} {mk} --tamper socket {case}/dir/s.jpg"], make=tree("dot"))
    c.case("B13-features-loops", "B", "features over the folder of loops, FIFO and dangling link",
           [S("{cli} features --model {model} --weights {base}/ckpt.pth --output {case}/f.npy {case}/dir", expect="ok")], make=tree("all"))
    c.case("B14-calibrate-loops", "B", "export --int8 --calibrate the folder of loops, FIFO and dangling link",
           [S("{cli} export --model {model} --weights {base}/ckpt.pth --int8 --size 32 --calibrate {case}/dir --output {case}/q.onnx", expect="ok")],
           make=tree("all"))

    def imgfolder(kind):
        def mk(d):
            r = make_imagefolder(os.path.join(d, "data"))
            cls = os.path.join(r, "train", "cat")
            if kind == "loop":
                symlink("..", os.path.join(cls, "again"))
                symlink(".", os.path.join(r, "train", "self"))
            elif kind == "fifo":
                fifo(os.path.join(cls, "x.jpg"))
            elif kind == "dangling":
                symlink("nothing.jpg", os.path.join(cls, "y.jpg"))
            elif kind == "trainloop":
                shutil.rmtree(os.path.join(r, "train"))
                symlink("train", os.path.join(r, "train"))
            elif kind == "tall":
                png_real(os.path.join(cls, "tall.png"), 1, 100000)
            elif kind == "big":
                png_real(os.path.join(cls, "big.png"), 13000, 13000)
        return mk
    TR = "{cli} train --model {model} --data {case}/data --epochs 1 --out {case}/out"
    c.case("B15-imagefolder-loops", "B", "ImageFolder tree with train/cat/again -> .. and train/self -> .", [S(TR, expect="any")], make=imgfolder("loop"))
    c.case("B16-imagefolder-fifo", "B", "ImageFolder tree with a FIFO train/cat/x.jpg", [S(TR, expect="any")], make=imgfolder("fifo"))
    c.case("B17-imagefolder-dangling", "B", "ImageFolder tree with a dangling train/cat/y.jpg", [S(TR, expect="any")], make=imgfolder("dangling"))
    c.case("B18-imagefolder-train-selflink", "B", "ImageFolder whose train is a link to itself", [S(TR)], make=imgfolder("trainloop"))
    c.case("B19-imagefolder-1x100000", "B", "ImageFolder with a 1x100000 PNG (stored at 32 px: a 32 x 3.2M resize)", [S(TR, expect="any")], make=imgfolder("tall"))
    c.case("B20-imagefolder-13000", "B", "ImageFolder with a 13000x13000 PNG", [S(TR, expect="any")], make=imgfolder("big"))

    # ================================================================ C: outputs
    FE = "{cli} features --model {model} --weights {base}/ckpt.pth " + PH + " --output "
    CV = "{cli} convert --model {model} --input {base}/ckpt.pth --output "
    c.case("C01-features-devfull", "C", "features --output /dev/full", [S(FE + "/dev/full")])
    c.case("C02-convert-devfull", "C", "convert --output /dev/full", [S(CV + "/dev/full")])
    c.case("C03-cam-devfull", "C", "cam --output /dev/full", [S("{cli} cam --model {model} --weights {base}/ckpt.pth --output /dev/full " + PH)])
    c.case("C04-export-devnull", "C", "export --output /dev/null", [S("{cli} export --model {model} --weights {base}/ckpt.pth --output /dev/null")])
    c.case("C05-features-link-victim", "C", "features --output out.npy where out.npy -> victim.txt",
           [S(FE + "{case}/out.npy", expect="any")],
           make=lambda d: (victim(os.path.join(d, "victim.txt")), symlink("victim.txt", os.path.join(d, "out.npy"))))
    c.case("C06-convert-link-victim", "C", "convert --output out.pth -> ../victim.pth (a file outside the output folder)",
           [S(CV + "{case}/o/out.pth", expect="any")],
           make=lambda d: (victim(os.path.join(d, "victim.pth")), symlink("../victim.pth", os.path.join(d, "o", "out.pth"))))
    c.case("C07-cam-link-victim", "C", "cam --output out.png -> victim.png",
           [S("{cli} cam --model {model} --weights {base}/ckpt.pth --output {case}/out.png " + PH, expect="any")],
           make=lambda d: (victim(os.path.join(d, "victim.png")), symlink("victim.png", os.path.join(d, "out.png"))))
    c.case("C08-export-link-victim", "C", "export --output out.onnx -> victim.onnx",
           [S("{cli} export --model {model} --weights {base}/ckpt.pth --output {case}/out.onnx", expect="any")],
           make=lambda d: (victim(os.path.join(d, "victim.onnx")), symlink("victim.onnx", os.path.join(d, "out.onnx"))))
    c.case("C09-output-link-chain-victim", "C", "output l1.npy -> l2 -> l3 -> victim.txt",
           [S(FE + "{case}/l1.npy", expect="any")],
           make=lambda d: (victim(os.path.join(d, "victim.txt")), symlink("victim.txt", os.path.join(d, "l3")),
                           symlink("l3", os.path.join(d, "l2")), symlink("l2", os.path.join(d, "l1.npy"))))
    c.case("C10-output-dangling-link", "C", "output out.npy -> planted.npy (does not exist): must not be created through the link",
           [S(FE + "{case}/out.npy", expect="any")], make=lambda d: symlink("planted.npy", os.path.join(d, "out.npy")),
           must_not_exist=["planted.npy"])
    c.case("C11-output-link-to-devnull", "C", "output out.npy -> /dev/null", [S(FE + "{case}/out.npy")],
           make=lambda d: symlink("/dev/null", os.path.join(d, "out.npy")))
    c.case("C12-output-link-loop", "C", "output a.npy -> b.npy -> a.npy", [S(FE + "{case}/a.npy")],
           make=lambda d: (symlink("b.npy", os.path.join(d, "a.npy")), symlink("a.npy", os.path.join(d, "b.npy"))))
    c.case("C13-output-link-to-dir", "C", "output out.npy -> a folder", [S(FE + "{case}/out.npy")],
           make=lambda d: (mkdirs(os.path.join(d, "folder")), symlink("folder", os.path.join(d, "out.npy"))))
    c.case("C14-output-fifo", "C", "output is a FIFO", [S(FE + "{case}/out.npy")], make=lambda d: fifo(os.path.join(d, "out.npy")))
    c.case("C15-output-dir", "C", "output is a folder", [S(FE + "{case}/out.npy")], make=lambda d: mkdirs(os.path.join(d, "out.npy")))
    c.case("C16-output-tmp-planted", "C", "out.npy.tmp, .out.npy.tmp and out.npy.partial planted as links to victim.txt",
           [S(FE + "{case}/out.npy", expect="ok")],
           make=lambda d: (victim(os.path.join(d, "victim.txt")), symlink("victim.txt", os.path.join(d, "out.npy.tmp")),
                           symlink("victim.txt", os.path.join(d, ".out.npy.tmp")), symlink("victim.txt", os.path.join(d, "out.npy.partial"))))
    c.case("C17-output-missing-folder", "C", "output in a folder that does not exist", [S(FE + "{case}/nope/x/out.npy")])
    c.case("C18-output-folder-is-file", "C", "output below a regular file (file.txt/out.npy)", [S(FE + "{case}/file.txt/out.npy")],
           make=lambda d: write(os.path.join(d, "file.txt"), b"x"))
    c.case("C19-convert-in-place", "C", "convert --input w.pth --output w.pth (same file)",
           [S("{cli} convert --model {model} --input {case}/w.pth --output {case}/w.pth", expect="ok"),
            S(f"{TINY} {W} {PH}", expect="ok")], make=with_sd())
    c.case("C20-features-output-is-input", "C", "features --output x.npy where x.npy is also the input",
           [S("{cli} features --model {model} --weights {base}/ckpt.pth --output {case}/x.npy {case}/x.npy", expect="ok")],
           make=lambda d: write(os.path.join(d, "x.npy"), npy_bytes((1, 3, 32, 32), data=np.zeros((1, 3, 32, 32), "<f4").tobytes())))
    c.case("C21-features-npz-link-victim", "C", "features --stage c2,c3 --output out.npz -> victim.txt",
           [S("{cli} features --model {model} --weights {base}/ckpt.pth --stage c2,c3 " + PH + " --output {case}/out.npz", expect="any")],
           make=lambda d: (victim(os.path.join(d, "victim.txt")), symlink("victim.txt", os.path.join(d, "out.npz"))))

    def trainout(kind):
        def mk(d):
            o = mkdirs(os.path.join(d, "out"))
            victim(os.path.join(d, "victim.txt"))
            if kind == "best-link":
                symlink("../victim.txt", os.path.join(o, "best.pth"))
            elif kind == "metrics-link":
                symlink("../victim.txt", os.path.join(o, "metrics.jsonl"))
            elif kind == "chart-link":
                symlink("../victim.txt", os.path.join(o, "chart.png"))
            elif kind == "classes-link":
                symlink("../victim.txt", os.path.join(o, "classes.txt"))
            elif kind == "state-fifo":
                fifo(os.path.join(o, "last.state"))
            elif kind == "metrics-fifo":
                fifo(os.path.join(o, "metrics.jsonl"))
            elif kind == "out-file":
                shutil.rmtree(o)
                write(o, b"a file, not a folder\n")
            elif kind == "out-devnull":
                shutil.rmtree(o)
                symlink("/dev/null", o)
        return mk
    TRO = "{cli} train --model {model} --data {base}/cifar --epochs 1 --out {case}/out"
    c.case("C22-train-best-link-victim", "C", "train --out where best.pth -> victim.txt", [S(TRO, expect="any")], make=trainout("best-link"))
    c.case("C23-train-metrics-link-victim", "C", "train --out where metrics.jsonl -> victim.txt", [S(TRO, expect="any")], make=trainout("metrics-link"))
    c.case("C24-train-chart-link-victim", "C", "train --out where chart.png -> victim.txt", [S(TRO, expect="any")], make=trainout("chart-link"))
    c.case("C25-train-classes-link-victim", "C", "train --out where classes.txt -> victim.txt", [S(TRO, expect="any")], make=trainout("classes-link"))
    c.case("C26-train-state-fifo", "C", "train --out where last.state is a FIFO", [S(TRO, expect="any")], make=trainout("state-fifo"))
    c.case("C27-train-metrics-fifo", "C", "train --out where metrics.jsonl is a FIFO", [S(TRO, expect="any")], make=trainout("metrics-fifo"))
    c.case("C28-train-out-is-file", "C", "train --out names a regular file", [S(TRO)], make=trainout("out-file"))
    c.case("C29-train-out-devnull", "C", "train --out is a link to /dev/null", [S(TRO)], make=trainout("out-devnull"))

    # ================================================================ D: training progress
    state_src = os.path.join(base, "run", "last.state")

    def state(mutate=None, raw_json=None, drop=(), progress_tensor=None, also=None):
        def mk(d):
            o = mkdirs(os.path.join(d, "out"))
            for f in ("classes.txt", "metrics.jsonl", "best.pth", "last.pth"):
                if os.path.exists(os.path.join(base, "run", f)):
                    shutil.copyfile(os.path.join(base, "run", f), os.path.join(o, f))
            st = load_sd(state_src)
            pj = json.loads(bytes(st["progress_json"].tolist()).decode())
            if mutate:
                mutate(pj)
            js = raw_json if raw_json is not None else json.dumps(pj).encode()
            st2 = OrderedDict((k, v) for k, v in st.items() if not any(re.match(p, k) for p in drop))
            if "progress_json" in st2:
                st2["progress_json"] = progress_tensor if progress_tensor is not None else t.tensor(list(js), dtype=t.uint8)
            save_sd(st2, os.path.join(o, "last.state"))
            if also:
                also(o)
        return mk

    RS = "{cli} train --model {model} --data {base}/cifar --out {case}/out --resume --epochs 2"

    def setp(**kv):
        def m(pj):
            for k, v in kv.items():
                if k.startswith("O_"):
                    pj["Options"][k[2:]] = v
                else:
                    pj[k] = v
        return m
    c.case("D01-epoch-int-max", "D", "progress EpochsDone = 2147483647", [S(RS)], make=state(setp(EpochsDone=2147483647)))
    c.case("D02-epoch-minus-3", "D", "progress EpochsDone = -3", [S(RS)], make=state(setp(EpochsDone=-3)))
    c.case("D03-step-1e9", "D", "progress StepInEpoch = 1000000000", [S(RS)], make=state(setp(StepInEpoch=1_000_000_000)))
    c.case("D04-step-minus-1", "D", "progress StepInEpoch = -1", [S(RS)], make=state(setp(StepInEpoch=-1)))
    c.case("D05-batch-0", "D", "progress Options.BatchSize = 0", [S(RS)], make=state(setp(O_BatchSize=0)))
    c.case("D06-batch-int-max", "D", "progress Options.BatchSize = 2147483647", [S(RS)], make=state(setp(O_BatchSize=2147483647)))
    c.case("D07-batch-minus-5", "D", "progress Options.BatchSize = -5", [S(RS)], make=state(setp(O_BatchSize=-5)))
    c.case("D08-optsteps-negative", "D", "progress OptimizerSteps = -7", [S(RS)], make=state(setp(OptimizerSteps=-7)))
    c.case("D09-optsteps-huge", "D", "progress OptimizerSteps = 9e18", [S(RS)], make=state(setp(OptimizerSteps=9_000_000_000_000_000_000)))
    c.case("D10-no-optimizer", "D", "last.state without any optim.* entry", [S(RS)], make=state(drop=(r"optim\.",)))
    def wrong_optim(d):
        state()(d)
        p = os.path.join(d, "out", "last.state")
        st = load_sd(p)
        k = [k for k in st if k.startswith("optim.fc.weight")][0]
        st[k] = t.zeros(3, 3)
        save_sd(st, p)
    c.case("D11-optimizer-wrong-shape", "D", "an optim.fc.weight.* tensor of the wrong shape [3, 3]", [S(RS)], make=wrong_optim)
    c.case("D12-json-truncated", "D", "progress_json cut in half", [S(RS)], make=state(raw_json=b'{"Format":1,"Model":"res2net_cif'))
    c.case("D13-json-null", "D", "progress_json is `null`", [S(RS)], make=state(raw_json=b"null"))
    c.case("D14-json-deep", "D", "progress_json nests 100000 arrays", [S(RS)], make=state(raw_json=b"[" * 100000 + b"]" * 100000))
    c.case("D15-json-not-utf8", "D", "progress_json holds invalid UTF-8", [S(RS)], make=state(raw_json=b'{"Format":1,"Model":"\xff\xfe"}'))
    c.case("D16-json-float-tensor", "D", "progress_json stored as a float32 tensor", [S(RS)],
           make=state(progress_tensor=t.zeros(10)))
    c.case("D17-no-progress", "D", "last.state without progress_json", [S(RS)], make=state(drop=(r"progress_json",)))
    c.case("D18-classes-image-absurd", "D", "progress NumClasses 1000000, InChannels 0, ImageSize 100000", [S(RS)],
           make=state(setp(NumClasses=1_000_000, InChannels=0, ImageSize=100000)))
    c.case("D19-model-unknown", "D", "progress Model = '../../etc/passwd'", [S(RS)], make=state(setp(Model="../../etc/passwd", O_Model="../../etc/passwd")))
    c.case("D20-lr-1e308", "D", "progress Options.PeakLr = 1e308", [S(RS, expect="any")], make=state(setp(O_PeakLr=1e308)))
    c.case("D21-partials-absurd", "D", "StepInEpoch 1 with PartialSeen -5 and PartialLossSum 1e308", [S(RS, expect="any")],
           make=state(setp(StepInEpoch=1, PartialSeen=-5, PartialLossSum=1e308, PartialCorrect=-3)))
    c.case("D22-format-999", "D", "progress Format = 999", [S(RS)], make=state(setp(Format=999)))
    c.case("D23-state-fifo", "D", "last.state is a FIFO", [S(RS)], make=lambda d: fifo(os.path.join(d, "out", "last.state")))
    c.case("D24-state-devzero", "D", "last.state -> /dev/zero", [S(RS)], make=lambda d: symlink("/dev/zero", os.path.join(d, "out", "last.state")))
    c.case("D25-state-dir", "D", "last.state is a folder", [S(RS)], make=lambda d: mkdirs(os.path.join(d, "out", "last.state")))
    c.case("D26-resume-nothing", "D", "--resume on an empty --out", [S(RS)], make=lambda d: mkdirs(os.path.join(d, "out")))
    c.case("D27-metrics-1GiB-no-newline", "D", "valid state, metrics.jsonl a 1 GiB sparse file without newlines (resume truncates it)",
           [S(RS, expect="any")], make=state(also=lambda o: sparse(os.path.join(o, "metrics.jsonl"), 1 << 30, b'{"epoch":1')))
    c.case("D28-epochs-int-max-fresh", "D", "train --epochs 2147483647 (fresh run, schedule length)",
           [S("{cli} train --model {model} --data {base}/cifar --epochs 2147483647 --out {case}/out", expect="any", interrupt_after=8)])
    c.case("D29-valid-resume", "D", "control: a valid last.state, --resume --epochs 2", [S(RS, expect="ok")], make=state())
    c.case("D30-two-trains-same-out", "D", "two `train` runs on the same --out at once, then the state and metrics checked",
           [S("({cli} train --model {model} --data {base}/cifar_big --epochs 1 --batch-size 32 --train-limit 320 --test-limit 50 --out {case}/out; echo run1 rc=$?) & "
              "({cli} train --model {model} --data {base}/cifar_big --epochs 1 --batch-size 32 --train-limit 320 --test-limit 50 --out {case}/out; echo run2 rc=$?); wait",
              expect="any", timeout=60),
            S("{cli} inspect {case}/out/last.state >/dev/null && {py} -c \"import json,sys; e=[json.loads(l)['epoch'] for l in open(sys.argv[1])]; "
              "print(e); sys.exit(0 if e==sorted(set(e)) else 3)\" {case}/out/metrics.jsonl", expect="ok")])
    c.case("D31-sigint-then-resume", "D", "SIGINT 3 s into the first epoch (expect 130), then --resume (expect 0)",
           [S("{cli} train --model {model} --data {base}/cifar_big --epochs 1 --batch-size 16 --out {case}/out", expect="rc=130", interrupt_after=3.0),
            S("{cli} train --model {model} --data {base}/cifar_big --epochs 1 --batch-size 16 --out {case}/out --resume", expect="ok", timeout=40)])
    c.case("D32-double-sigint", "D", "two SIGINTs 0.3 s apart during the first epoch (second Ctrl-C ends at once): state still loadable",
           [S("{cli} train --model {model} --data {base}/cifar_big --epochs 1 --batch-size 16 --out {case}/out", expect="any",
              interrupt_after=3.0, interrupt_again=0.3),
            S("{cli} train --model {model} --data {base}/cifar_big --epochs 1 --batch-size 16 --out {case}/out --resume --train-limit 200", expect="any", timeout=40)])
    c.case("D33-sigterm-during-save", "D", "SIGTERM 2.2 s in (near the end of a short epoch); then inspect the state",
           [S("{cli} train --model {model} --data {base}/cifar_big --epochs 3 --batch-size 64 --train-limit 640 --out {case}/out", expect="any",
              interrupt_after=2.2, interrupt_signal="TERM"),
            S("test ! -e {case}/out/last.state || {cli} inspect {case}/out/last.state >/dev/null", expect="ok")])

    # ================================================================ E: downloads
    def home(d):
        mkdirs(os.path.join(d, "home"))
    DL = "RES2NET_HOME={case}/home RES2NET_MIRROR=%s {cli} classify --model {big} " + PH
    for i, (path, desc) in enumerate([
            ("drip", "sends 1 byte every 5 s (Content-Length 100 MB)"),
            ("zeros", "streams zeros forever, no Content-Length (rate-limited to 50 MB/s by the server)"),
            ("html", "200 with an HTML page"),
            ("404", "404 Not Found"),
            ("redirect-file", "302 to file:///etc/passwd"),
            ("redirect-loop", "302 to itself, forever"),
            ("silent", "accepts, then never answers"),
            ("header-drip", "status line, then one header byte every 2 s"),
            ("close", "closes the connection without answering"),
            ("short", "Content-Length 1 MB, sends 1000 bytes, closes"),
            ("wrong", "200 with 1 MB of random bytes (hash mismatch)"),
            ("huge-header", "a 1 MB response header line"),
            ("gzip-bomb", "Content-Encoding: gzip, 1 MB body inflating to 1 GB")]):
        c.case(f"E{i + 1:02d}-http-{path}", "E", "weights download: server " + desc,
               [S(DL % ("{http}/%s/" % path))], make=home)
    c.case("E17-https-to-http", "E", "RES2NET_MIRROR=https:// at a plain-HTTP port (TLS failure)",
           [S(DL % "{https_wrong}/")], make=home)
    c.case("E18-mirror-folder-fifo", "E", f"folder mirror holding a FIFO named {weights_name}",
           [S(DL % "{case}/mirror")], make=lambda d: (home(d), fifo(os.path.join(d, "mirror", weights_name))))
    c.case("E19-mirror-folder-devzero", "E", f"folder mirror with {weights_name} -> /dev/zero (file size limit 2 GiB applies)",
           [S(DL % "{case}/mirror")], make=lambda d: (home(d), symlink("/dev/zero", os.path.join(d, "mirror", weights_name))))
    c.case("E20-mirror-file-url-dir", "E", "RES2NET_MIRROR=file:///etc/ (no such file there)", [S(DL % "file:///etc/")], make=home)
    c.case("E21-cache-fifo", "E", f"the cached {weights_name} is a FIFO",
           [S(DL % "{http}/404/")], make=lambda d: fifo(os.path.join(d, "home", weights_name)))
    c.case("E22-cache-devzero", "E", f"the cached {weights_name} -> /dev/zero",
           [S(DL % "{http}/404/")], make=lambda d: symlink("/dev/zero", os.path.join(d, "home", weights_name)))
    c.case("E23-cache-garbage", "E", f"the cached {weights_name} is garbage (must be deleted and reported)",
           [S(DL % "{http}/404/")], make=lambda d: write(os.path.join(d, "home", weights_name), b"garbage" * 1000),
           allow=["home/*"])
    c.case("E24-cache-dir", "E", f"the cached {weights_name} is a folder", [S(DL % "{http}/wrong/")],
           make=lambda d: mkdirs(os.path.join(d, "home", weights_name)))
    c.case("E25-home-is-file", "E", "RES2NET_HOME names a regular file", [S(DL % "{http}/wrong/")],
           make=lambda d: write(os.path.join(d, "home"), b"file"))
    c.case("E26-home-link-victim", "E", "RES2NET_HOME -> victim.txt", [S(DL % "{http}/wrong/")],
           make=lambda d: (victim(os.path.join(d, "victim.txt")), symlink("victim.txt", os.path.join(d, "home"))))
    c.case("E27-mirror-bad-scheme", "E", "RES2NET_MIRROR=ftp://127.0.0.1/", [S(DL % "ftp://127.0.0.1/")], make=home)
    c.case("E28-cache-sparse-3GB", "E", f"the cached {weights_name} is a 3 GB sparse file (hashed before use)",
           [S(DL % "{http}/404/")], make=lambda d: sparse(os.path.join(d, "home", weights_name), 3 << 30, b"PK"),
           allow=["home/*"])

    # ================================================================ F: ONNX export cache
    OX = TINY + " --weights {case}/w.pth --engine onnx --format json --topk 3 {base}/photos"
    ref_setup = [OX + " > {case}/ref.json"]

    def fcase(cid, mode, desc, extra_setup=(), make_extra=None, allow=None, same=True):
        def mk(d):
            shutil.copyfile(ckpt, os.path.join(d, "w.pth"))
            victim(os.path.join(d, "victim.onnx"))
            if make_extra:
                make_extra(d)
        setup = list(extra_setup) + ref_setup + ["{py} {mk} --tamper %s {case}" % mode]
        c.case(cid, "F", desc, [S(OX, expect="ok", json=True, ref="{case}/ref.json" if same else None)],
               setup=setup, make=mk, allow=(allow or []) + ["w.*.onnx", "w.*.onnx/*"])
    other = ["{cli} export --model {model} --fresh --output {case}/other.onnx"]
    fcase("F01-cache-garbage", "onnx-garbage", "cached export replaced with 4 KB of random bytes")
    fcase("F02-cache-other-model", "onnx-other", "cached export replaced with another valid ONNX model (fresh weights, no metadata)", other)
    fcase("F03-cache-forged-metadata", "onnx-forged", "another valid model carrying the real export's metadata_props (hash and key)", other)
    fcase("F04-cache-weights-edited", "onnx-weights", "the real export with its float initializers changed, metadata kept")
    fcase("F05-cache-truncated", "onnx-truncate", "the real export cut in half")
    fcase("F06-cache-empty", "onnx-empty", "the cached export is an empty file")
    fcase("F07-cache-fifo", "onnx-fifo", "the cached export is a FIFO")
    fcase("F08-cache-link-victim", "onnx-link-victim", "the cached export is a link to victim.onnx")
    fcase("F09-cache-link-devzero", "onnx-link-zero", "the cached export is a link to /dev/zero")
    fcase("F10-cache-sparse-3GB", "onnx-sparse", "the cached export is a 3 GB sparse file starting like the real one")
    fcase("F11-cache-dir", "onnx-dir", "the cached export's name is a folder")

    def f12(d):
        shutil.copyfile(ckpt, os.path.join(d, "w.pth"))
    c.case("F12-weights-replaced", "F", "weights file rewritten (classifier changed) after an export was cached: must not run the old export",
           [S(OX, expect="ok", json=True, ref="{case}/ref.json")],
           setup=[OX + " > /dev/null", "{py} {mk} --tamper weights-scale {case}/w.pth",
                  TINY + " --weights {case}/w.pth --engine torch --format json --topk 3 {base}/photos > {case}/ref.json"],
           make=f12, allow=["w.pth"])

    # ================================================================ G: messages
    c.case("G01-batch-int-max", "G", "classify --batch-size 2147483647", [S(TINY + " --weights {base}/ckpt.pth --batch-size 2147483647 {base}/photos", expect="any")])
    c.case("G02-batch-0", "G", "classify --batch-size 0", [S(TINY + " --weights {base}/ckpt.pth --batch-size 0 " + PH)])
    c.case("G03-batch-neg", "G", "classify --batch-size -1", [S(TINY + " --weights {base}/ckpt.pth --batch-size -1 " + PH)])
    c.case("G04-npy-1x3x0x0-among-photos", "G", "an .npy of shape (1,3,0,0) between valid photos: others still classified, exit 1",
           [S(TINY + " --weights {base}/ckpt.pth --format json {base}/photos/a.jpg {case}/empty.npy {base}/photos/b.png", json=True, min_stdout_lines=2)],
           make=lambda d: write(os.path.join(d, "empty.npy"), npy_bytes((1, 3, 0, 0))))
    for j, (shape, descr, fort, desc) in enumerate([
            ((0, 3, 32, 32), "<f4", False, "shape (0,3,32,32)"),
            ((1, 3, 32, 32), "|O", False, "object dtype (pickle inside)"),
            ((1, 3, 32, 32), "<f4", True, "Fortran order"),
            ((1, 1, 32, 32), "<f4", False, "1 channel for a 3-channel model"),
            ((1, 3, 1, 100000), "<f4", False, "shape (1,3,1,100000)")]):
        def mk(d, shape=shape, descr=descr, fort=fort):
            n = int(np.prod(shape))
            es = 8 if descr.endswith("8") or descr == "|O" else 4
            write(os.path.join(d, "x.npy"), npy_bytes(shape, descr, fort, b"\0" * (n * es)))
        c.case(f"G05-npy-{j}", "G", "an .npy input of " + desc, [S(TINY + " --weights {base}/ckpt.pth {case}/x.npy", expect="any")], make=mk)
    c.case("G06-classify-size-20000", "G", "classify --size 20000", [S(TINY + " --weights {base}/ckpt.pth --size 20000 " + PH)])
    c.case("G07-info-size-100000", "G", "info --size 100000", [S("{cli} info --model {big} --size 100000", expect="any")])
    c.case("G08-info-size-0", "G", "info --size 0 / -5", [S("{cli} info --model {model} --size 0"), S("{cli} info --model {model} --size -5")])
    c.case("G09-nan-json", "G", "classify --format json with fc.bias = NaN (NaN probabilities): stdout must stay valid JSON",
           [S(TINY + " " + W + " --format json " + PH, expect="any", json=True)], make=with_sd({"fc.bias": t.full_like(sd["fc.bias"], float("nan"))}))
    c.case("G10-inf-json", "G", "classify --format json with fc.weight = +inf",
           [S(TINY + " " + W + " --format json " + PH, expect="any", json=True)], make=with_sd({"fc.weight": t.full_like(sd["fc.weight"], float("inf"))}))
    c.case("G11-nan-features-json", "G", "features --format json with NaN weights",
           [S("{cli} features --model {model} --weights {case}/w.pth --format json --output {case}/f.npy " + PH, expect="any", json=True)],
           make=with_sd({"conv1.weight": t.full_like(sd["conv1.weight"], float("nan"))}))
    c.case("G12-nan-evaluate-json", "G", "evaluate --format json with NaN weights",
           [S("{cli} evaluate --model {model} --weights {case}/w.pth --data {base}/cifar --format json", expect="any", json=True)],
           make=with_sd({"fc.bias": t.full_like(sd["fc.bias"], float("nan"))}))
    c.case("G13-fc-weight-0d", "G", "fc.weight is a 0-d tensor", [S(f"{TINY} {W} {PH}")], make=with_sd({"fc.weight": t.tensor(1.0)}))
    c.case("G14-fc-weight-1d", "G", "fc.weight is 1-d [1280]", [S(f"{TINY} {W} {PH}")], make=with_sd({"fc.weight": t.zeros(1280)}))
    c.case("G15-conv1-int64", "G", "conv1.weight stored as int64", [S(f"{TINY} {W} {PH}", expect="any")],
           make=with_sd({"conv1.weight": sd["conv1.weight"].to(t.int64)}))
    c.case("G16-ctrl-c-classify", "G", "SIGINT 2.5 s into classify of 400 photos at --size 224 --batch-size 2 (expect 130, prompt exit)",
           [S(TINY + " --weights {base}/ckpt.pth --size 224 --batch-size 2 --engine torch {base}/many", expect="rc=130", interrupt_after=2.5)])
    c.case("G17-ctrl-c-features", "G", "SIGINT 2.5 s into features: 130, no output, no temporary file",
           [S("{cli} features --model {model} --weights {base}/ckpt.pth --size 224 --batch-size 2 --engine torch --output {case}/f.npy {base}/many",
              expect="rc=130", interrupt_after=2.5)], must_not_exist=["f.npy"])
    c.case("G18-ctrl-c-export-int8", "G", "SIGINT 1.5 s into export --int8 calibration over 400 photos",
           [S("{cli} export --model {model} --weights {base}/ckpt.pth --int8 --size 224 --calibrate {base}/many --output {case}/q.onnx",
              expect="any", interrupt_after=1.5)])
    c.case("G19-bogus-flag", "G", "classify --bogus", [S(TINY + " --weights {base}/ckpt.pth --bogus " + PH)])
    c.case("G20-empty-dataset-train", "G", "train --data an empty folder", [S("{cli} train --model {model} --data {case}/empty --out {case}/out")],
           make=lambda d: mkdirs(os.path.join(d, "empty")))
    c.case("G21-empty-dataset-evaluate", "G", "evaluate --data an empty folder", [S("{cli} evaluate --model {model} --weights {base}/ckpt.pth --data {case}/empty")],
           make=lambda d: mkdirs(os.path.join(d, "empty")))
    c.case("G22-missing-dataset", "G", "train --data a missing folder", [S("{cli} train --model {model} --data {case}/nope --out {case}/out")])
    c.case("G23-inspect-dir", "G", "inspect a folder", [S("{cli} inspect {case}")])
    c.case("G24-classify-empty-folder", "G", "classify an empty folder", [S(TINY + " --weights {base}/ckpt.pth {case}/empty")],
           make=lambda d: mkdirs(os.path.join(d, "empty")))
    for p in (2, 3, 4, 5):
        c.case(f"G25-legacy-protocol-{p}", "G", f"legacy .pth written with pickle_protocol={p} (torch.load reads it): must classify like the zip file",
               [S(TINY + " --weights {case}/w.pth --format json --topk 3 {base}/photos", expect="ok", json=True, ref="{case}/ref.json")],
               setup=[TINY + " --weights {base}/ckpt.pth --format json --topk 3 {base}/photos > {case}/ref.json"],
               make=with_sd(legacy=True, protocol=p))
    c.case("G26-topk-variants", "G", "classify --topk 0, -1, 1000000",
           [S(TINY + " --weights {base}/ckpt.pth --topk 0 " + PH), S(TINY + " --weights {base}/ckpt.pth --topk -1 " + PH),
            S(TINY + " --weights {base}/ckpt.pth --topk 1000000 " + PH, expect="any")])
    c.case("G27-crop-pct-variants", "G", "classify --crop-pct 0, NaN, -1, 1e9",
           [S(TINY + " --weights {base}/ckpt.pth --crop-pct 0 " + PH), S(TINY + " --weights {base}/ckpt.pth --crop-pct NaN " + PH),
            S(TINY + " --weights {base}/ckpt.pth --crop-pct -1 " + PH), S(TINY + " --weights {base}/ckpt.pth --crop-pct 1e9 " + PH)])
    c.case("G28-size-variants", "G", "classify --size 0, -1, 1",
           [S(TINY + " --weights {base}/ckpt.pth --size 0 " + PH), S(TINY + " --weights {base}/ckpt.pth --size -1 " + PH),
            S(TINY + " --weights {base}/ckpt.pth --size 1 " + PH, expect="any")])
    c.case("G29-train-bad-numbers", "G", "train --epochs 0 / -1, --lr NaN, --threads 0 / 100000, --image-size 100000, --train-limit 0",
           [S("{cli} train --model {model} --data {base}/cifar --out {case}/o1 --epochs 0", expect="any"),
            S("{cli} train --model {model} --data {base}/cifar --out {case}/o2 --epochs -1"),
            S("{cli} train --model {model} --data {base}/cifar --out {case}/o3 --epochs 1 --lr NaN"),
            S("{cli} train --model {model} --data {base}/cifar --out {case}/o4 --epochs 1 --threads 0"),
            S("{cli} train --model {model} --data {base}/cifar --out {case}/o6 --epochs 1 --image-size 100000"),
            S("{cli} train --model {model} --data {base}/cifar --out {case}/o7 --epochs 1 --train-limit 0")])
    c.case("G30-export-bad", "G", "export --opset 99; --int8 without --size; --size 100000; --batch 0",
           [S("{cli} export --model {model} --weights {base}/ckpt.pth --opset 99 --output {case}/a.onnx"),
            S("{cli} export --model {model} --weights {base}/ckpt.pth --int8 --calibrate {base}/photos --output {case}/b.onnx"),
            S("{cli} export --model {model} --weights {base}/ckpt.pth --size 100000 --output {case}/c.onnx"),
            S("{cli} export --model {model} --weights {base}/ckpt.pth --batch 0 --output {case}/d.onnx")])
    c.case("G31-cam-bad", "G", "cam --class 1000000 / -1, --stage c9",
           [S("{cli} cam --model {model} --weights {base}/ckpt.pth --class 1000000 --output {case}/a.png " + PH),
            S("{cli} cam --model {model} --weights {base}/ckpt.pth --class -1 --output {case}/b.png " + PH),
            S("{cli} cam --model {model} --weights {base}/ckpt.pth --stage c9 --output {case}/c.png " + PH)])
    c.case("G32-features-stage-bad", "G", "features --stage c2,c2 and --stage bogus",
           [S("{cli} features --model {model} --weights {base}/ckpt.pth --stage c2,c2 --output {case}/a.npz " + PH, expect="any"),
            S("{cli} features --model {model} --weights {base}/ckpt.pth --stage bogus --output {case}/b.npy " + PH)])

    def evil_names(d):
        e = mkdirs(os.path.join(d, "evil"))
        write(os.path.join(e, "\x1b[31mRED\x1b[0m\nfake line.jpg").encode(), b"not an image")
        write(os.path.join(e.encode(), b"\xff\xfe-latin1.jpg"), b"not an image either")
    c.case("G33-filename-escapes", "G", "photos named with ESC sequences, a newline and invalid UTF-8 (messages must not emit raw control bytes)",
           [S(TINY + " --weights {base}/ckpt.pth {case}/evil/*", no_ctrl=True)], make=evil_names)
    c.case("G34-empty-arg", "G", "classify '' (an empty path)", [S(TINY + " --weights {base}/ckpt.pth ''")])
    c.case("G35-path-5000-chars", "G", "a 5000-character path", [S(TINY + " --weights {base}/ckpt.pth {case}/" + "x" * 250 + "/" + "y" * 4700 + ".jpg")])
    c.case("G36-model-long-name", "G", "--model with a 10 KB name and --model ../../x",
           [S("{cli} info --model " + "m" * 10000), S("{cli} info --model ../../x")])
    c.case("G37-format-bogus", "G", "classify --format xml", [S(TINY + " --weights {base}/ckpt.pth --format xml " + PH)])
    c.case("G38-evaluate-batch-int-max", "G", "evaluate --batch-size 2147483647",
           [S("{cli} evaluate --model {model} --weights {base}/ckpt.pth --data {base}/cifar --batch-size 2147483647", expect="any")])
    c.case("G39-weights-wrong-model", "G", "the small checkpoint given to the big model", [S("{cli} classify --model {big} --weights {base}/ckpt.pth " + PH)])
    c.case("G40-models-json", "G", "control: models --format json is valid JSON", [S("{cli} models --format json", expect="ok", json=True)])
    c.case("G41-truncated-jpeg", "G", "a JPEG cut in half among good photos",
           [S(TINY + " --weights {base}/ckpt.pth {base}/photos/a.jpg {case}/half.jpg", min_stdout_lines=1)],
           make=lambda d: write(os.path.join(d, "half.jpg"), open(os.path.join(base, "photos", "a.jpg"), "rb").read()[:700]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?")
    ap.add_argument("--cli")
    ap.add_argument("--model", default="res2net_cifar_tiny")
    ap.add_argument("--big-model", default="res2net50_26w_4s")
    ap.add_argument("--checkpoint", help="a valid checkpoint of --model (3 channels); default: trained with --cli")
    ap.add_argument("--only", help="regex of case ids to generate")
    ap.add_argument("--tamper", nargs="+", metavar=("MODE", "TARGET"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.tamper:
        tamper(args.tamper[0], args.tamper[1], args.tamper[2:])
        return
    if not args.out:
        ap.error("OUTDIR is required")
    out = os.path.abspath(args.out)
    old = []
    if args.only and os.path.exists(os.path.join(out, "cases.json")):
        # regenerate only the matching cases; keep the others and their entries
        with open(os.path.join(out, "cases.json")) as f:
            old = [c for c in json.load(f)["cases"] if not re.search(args.only, c["id"])]
        for cid in os.listdir(os.path.join(out, "cases")):
            if re.search(args.only, cid):
                shutil.rmtree(os.path.join(out, "cases", cid))
    elif os.path.exists(os.path.join(out, "cases")):
        shutil.rmtree(os.path.join(out, "cases"))
    mkdirs(out)
    base, ckpt, weights_name = make_base(out, args)
    corpus = Corpus(out, args.only)
    build_cases(corpus, base, ckpt, weights_name, args.model, args.big_model)
    corpus.cases = sorted(old + corpus.cases, key=lambda c: c["id"])
    meta = {"model": args.model, "big_model": args.big_model, "checkpoint": ckpt, "base": base,
            "weights_file": weights_name, "generator": SELF, "cli_used": args.cli}
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump({"meta": meta, "cases": corpus.cases}, f, indent=1)
    du = subprocess.run(["du", "-sh", out], capture_output=True, text=True).stdout.split()[0]
    print(f"{len(corpus.cases)} cases in {out}/cases.json ({du} on disk)")


if __name__ == "__main__":
    main()
