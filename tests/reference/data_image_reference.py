"""PIL, NumPy and torch as the oracle for cajal's image reader and image folders
(tests/data/image_folder_test.cpp).

usage: data_image_reference.py DIR
  Writes DIR/root, an image folder (classes b_dog and a_cat, written in that order; PNG gray,
  RGB and RGBA, BMP, JPEG, a nested folder and a text file to ignore), and for the k-th
  image file in sorted path order:
    expected_k_rgb.npy      PIL's RGB decode as float32 [3, H, W] / 255
    expected_k_gray.npy     PIL's grayscale ("L") decode as float32 [1, H, W] / 255
    expected_k_resized.npy  torch.nn.functional.interpolate(rgb, (4, 6), bilinear, align_corners=False)
  files.txt (the sorted paths) and labels.npy (class index of each, classes sorted by name).
  Also DIR/broken (a class with a corrupt .png) and DIR/no_images (a class with only a .txt).
"""
import os
import sys

import numpy as np
import torch
from PIL import Image

directory = sys.argv[1]
root = os.path.join(directory, "root")
rng = np.random.default_rng(3)


def random_pixels(height, width, channels):
    shape = (height, width) if channels == 1 else (height, width, channels)
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


def smooth_pixels(height, width):
    # A gentle gradient: JPEG keeps it within a few levels, so decoders agree closely.
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([40 + 10 * x + 5 * y, 200 - 8 * y, 100 + 6 * x], axis=-1)
    return image.astype(np.uint8)


images = {
    "b_dog/img_rgb.png": (random_pixels(5, 7, 3), "PNG"),
    "b_dog/gray.png": (random_pixels(5, 7, 1), "PNG"),
    "b_dog/photo.jpg": (smooth_pixels(16, 16), "JPEG"),
    # Progressive: Huffman tables come between its scans, each scan uses only some of them.
    "b_dog/progressive.jpg": (smooth_pixels(16, 24), "JPEG"),
    "b_dog/nested/deep.bmp": (random_pixels(6, 3, 3), "BMP"),
    "a_cat/rgba.png": (random_pixels(4, 4, 4), "PNG"),
    "a_cat/z.bmp": (random_pixels(9, 11, 3), "BMP"),
}
for relative, (pixels, kind) in images.items():
    path = os.path.join(root, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    options = {"quality": 95, "progressive": "progressive" in relative} if kind == "JPEG" else {}
    Image.fromarray(pixels).save(path, kind, **options)
with open(os.path.join(root, "a_cat", "notes.txt"), "w") as f:
    f.write("not an image\n")

files = sorted(os.path.join(root, relative) for relative in images)
classes = sorted(os.listdir(root))
labels = [classes.index(os.path.relpath(path, root).split(os.sep)[0]) for path in files]
with open(os.path.join(directory, "files.txt"), "w") as f:
    f.write("\n".join(files) + "\n")
np.save(os.path.join(directory, "labels.npy"), np.array(labels, dtype=np.int64))

for k, path in enumerate(files):
    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB"), dtype=np.float32).transpose(2, 0, 1) / np.float32(255)
        gray = np.asarray(image.convert("L"), dtype=np.float32)[None] / np.float32(255)
    resized = torch.nn.functional.interpolate(torch.from_numpy(rgb)[None], size=(4, 6), mode="bilinear",
                                              align_corners=False)[0].numpy()
    np.save(os.path.join(directory, f"expected_{k}_rgb.npy"), rgb)
    np.save(os.path.join(directory, f"expected_{k}_gray.npy"), gray)
    np.save(os.path.join(directory, f"expected_{k}_resized.npy"), resized)

os.makedirs(os.path.join(directory, "broken", "cls"))
with open(os.path.join(directory, "broken", "cls", "bad.png"), "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n this is not really a PNG")
os.makedirs(os.path.join(directory, "no_images", "cls"))
with open(os.path.join(directory, "no_images", "cls", "readme.txt"), "w") as f:
    f.write("nothing here\n")
