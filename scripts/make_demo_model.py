#!/usr/bin/python3
"""make_demo_model.py: trains the 'digits' demo classifier and writes models/digits/.

Run with Debian's Python (python3-torch, python3-sklearn, python3-onnx, numpy: `bash scripts/deps.sh --train`):

    /usr/bin/python3 scripts/make_demo_model.py [--out models/digits]

It trains a small CNN on scikit-learn's bundled digits data set (1797 images of
8x8 pixels, values 0..16, higher = more ink), prints the held-out test accuracy,
and writes:

    model.onnx   opset 13, input "input" [batch, 1, 8, 8] float32 (ink / 16, so 0..1),
                 output "logits" [batch, 10]; the batch dimension is symbolic.
    config.json  preprocessing for 'legacygpu infer': gray, 8x8, area (box) resize
                 straight to 8x8 (no crop), scale 1/255, mean 0, std 1 (a PNG pixel p gives p / 255).
    labels.txt   "0" .. "9", one per line.
    samples/digit_<d>.png
                 one held-out test image per digit, drawn light-on-dark (ink is white,
                 pixel = round(ink * 255 / 16)) and upscaled 8x with nearest neighbour
                 to 64x64 gray PNGs. The box resize in the config brings them back to
                 the exact 8x8 grid the model was trained on.

Everything is deterministic (fixed seeds, deterministic kernels, CPU only).
"""
import argparse
import json
import os
import random
import struct
import zlib

import numpy as np
import torch
import torch.nn as nn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SEED = 1234
UPSCALE = 8
INK_MAX = 16.0


class DigitNet(nn.Module):
    """Two 3x3 convolutions, a 2x2 max pool and two dense layers (about 40k weights)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def seed_everything():
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)


def load_split():
    digits = load_digits()
    x = (digits.images / INK_MAX).astype(np.float32)[:, None, :, :]
    y = digits.target.astype(np.int64)
    return train_test_split(x, y, test_size=0.25, random_state=SEED, stratify=y)


def shift_augment(xb, gen):
    """Shifts each image by up to one pixel in each direction (zero fill)."""
    out = torch.zeros_like(xb)
    shifts = torch.randint(-1, 2, (xb.shape[0], 2), generator=gen)
    for i, (dy, dx) in enumerate(shifts.tolist()):
        src = xb[i, :, max(0, -dy):8 - max(0, dy), max(0, -dx):8 - max(0, dx)]
        out[i, :, max(0, dy):max(0, dy) + src.shape[1], max(0, dx):max(0, dx) + src.shape[2]] = src
    return out


def train(model, x_train, y_train, epochs=60, batch=64):
    gen = torch.Generator().manual_seed(SEED)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), batch):
            idx = order[i:i + batch]
            xb = shift_augment(xt[idx], gen) if torch.rand(1, generator=gen).item() < 0.5 else xt[idx]
            opt.zero_grad()
            loss_fn(model(xb), yt[idx]).backward()
            opt.step()
        sched.step()


def predict(model, x):
    model.eval()
    with torch.no_grad():
        return model(torch.from_numpy(x)).argmax(1).numpy()


def png_bytes(gray):
    """Encodes a 2-D uint8 array as an 8-bit grayscale PNG."""
    h, w = gray.shape
    raw = b"".join(b"\x00" + gray[r].tobytes() for r in range(h))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def sample_pixels(image01):
    """An 8x8 image in 0..1 as the 64x64 light-on-dark PNG pixels the samples hold."""
    ink = np.rint(image01 * 255.0).astype(np.uint8)
    return np.kron(ink, np.ones((UPSCALE, UPSCALE), dtype=np.uint8))


def write_samples(out_dir, model, x_test, y_test):
    """One correctly classified held-out image per digit, as samples/digit_<d>.png."""
    sample_dir = os.path.join(out_dir, "samples")
    os.makedirs(sample_dir, exist_ok=True)
    for digit in range(10):
        for i in np.flatnonzero(y_test == digit):
            # What the engine will see: PNG pixels, box-resized back to 8x8, divided by 255.
            pixels = sample_pixels(x_test[i, 0])
            seen = pixels.reshape(8, UPSCALE, 8, UPSCALE).mean(axis=(1, 3)) / 255.0
            if predict(model, seen.astype(np.float32)[None, None])[0] == digit:
                with open(os.path.join(sample_dir, "digit_%d.png" % digit), "wb") as f:
                    f.write(png_bytes(pixels))
                break
        else:
            raise SystemExit("no correctly classified test image of digit %d" % digit)


def export_onnx(model, path):
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 1, 8, 8), path, opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})


def write_config(out_dir):
    config = {
        "input": {
            "size": [8, 8],
            "color": "gray",
            "layout": "nchw",
            "resize": "area",
            "crop": False,
            "scale": 1.0 / 255.0,
            "mean": [0.0],
            "std": [1.0],
        },
        "labels": "labels.txt",
        "postprocess": {"type": "classify", "top_k": 3, "softmax": True},
    }
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    with open(os.path.join(out_dir, "labels.txt"), "w") as f:
        f.write("".join("%d\n" % d for d in range(10)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "models", "digits"))
    args = ap.parse_args()
    seed_everything()
    x_train, x_test, y_train, y_test = load_split()
    model = DigitNet()
    train(model, x_train, y_train)
    accuracy = float((predict(model, x_test) == y_test).mean())
    print("test accuracy: %.2f%% (%d held-out images)" % (100 * accuracy, len(y_test)))
    if accuracy < 0.97:
        raise SystemExit("accuracy below 97%: not writing the model")
    os.makedirs(args.out, exist_ok=True)
    export_onnx(model, os.path.join(args.out, "model.onnx"))
    write_config(args.out)
    write_samples(args.out, model, x_test, y_test)
    print("wrote %s (model.onnx %d bytes)" % (os.path.normpath(args.out),
                                               os.path.getsize(os.path.join(args.out, "model.onnx"))))


if __name__ == "__main__":
    main()
