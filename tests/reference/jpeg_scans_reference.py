"""Progressive JPEGs at and over cajal's scan cap (data/jpeg.h, kMaxJpegScans = 1000), for
tests/data/image_folder_test.cpp. PIL writes a 16x16 progressive JPEG; its last scan is then
repeated (libjpeg decodes a repeated refinement scan with a warning only), so that the file
has exactly 1000 scans (at_cap.jpg, decoded) or 1001 (over_cap.jpg, refused).

usage: jpeg_scans_reference.py OUT_DIR
"""
import io
import os
import sys

import numpy as np
from PIL import Image

out = sys.argv[1]
pixels = (np.random.default_rng(20261208).random((16, 16, 3)) * 255).astype(np.uint8)
buffer = io.BytesIO()
Image.fromarray(pixels).save(buffer, "JPEG", progressive=True, quality=90)
data = buffer.getvalue()
scans = data.count(b"\xff\xda")
last_scan, end = data.rfind(b"\xff\xda"), data.rfind(b"\xff\xd9")
for name, total in (("at_cap", 1000), ("over_cap", 1001)):
    with open(os.path.join(out, name + ".jpg"), "wb") as f:
        f.write(data[:end] + data[last_scan:end] * (total - scans) + data[end:])
