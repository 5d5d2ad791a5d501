"""PyTorch/NumPy reference for cajal's transforms test (tests/data/transforms_test.cpp).

OUT_DIR holds:
  image_float64.npy, image_float32.npy   one [C, H, W] image in two dtypes
  affine_cases.txt   lines "<id> <angle> <tx> <ty> <scale>"
  normalize.txt      one line of C means, one line of C stds
  images.npy         [N, C, H, W] images for channel statistics (any dtype)

and receives:
  affine_<id>_<dtype>.npy    torchvision's affine of the image (shear 0, fill 0, bilinear)
  normalize.npy              torchvision's normalize of image_float32.npy
  stats_mean.npy, stats_std.npy   per-channel mean and std (ddof 0) of images.npy

torchvision is not installed here, so its affine is rebuilt from its source (0.14,
functional._get_inverse_affine_matrix and functional_tensor._gen_affine_grid) around
torch's own grid_sample(align_corners=False, padding_mode="zeros"), which does the sampling.
fill=0 in torchvision also multiplies by a sampled mask of ones; at fill 0 that mask only
scales pixels whose taps fall partly outside, so the comparison runs without it (fill=None).

usage: transforms_reference.py OUT_DIR
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F


def get_inverse_affine_matrix(center, angle, translate, scale, shear):
    # torchvision.transforms.functional._get_inverse_affine_matrix
    rot = math.radians(angle)
    sx = math.radians(shear[0])
    sy = math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    matrix = [d, -b, 0.0, -c, a, 0.0]
    matrix = [x / scale for x in matrix]
    matrix[2] += matrix[0] * (-cx - tx) + matrix[1] * (-cy - ty)
    matrix[5] += matrix[3] * (-cx - tx) + matrix[4] * (-cy - ty)
    matrix[2] += cx
    matrix[5] += cy
    return matrix


def gen_affine_grid(theta, w, h, ow, oh):
    # torchvision.transforms.functional_tensor._gen_affine_grid
    d = 0.5
    base_grid = torch.empty(1, oh, ow, 3, dtype=theta.dtype)
    x_grid = torch.linspace(-ow * 0.5 + d, ow * 0.5 + d - 1, steps=ow, dtype=theta.dtype)
    base_grid[..., 0].copy_(x_grid)
    y_grid = torch.linspace(-oh * 0.5 + d, oh * 0.5 + d - 1, steps=oh, dtype=theta.dtype).unsqueeze_(-1)
    base_grid[..., 1].copy_(y_grid)
    base_grid[..., 2].fill_(1)
    rescaled_theta = theta.transpose(1, 2) / torch.tensor([0.5 * w, 0.5 * h], dtype=theta.dtype)
    output_grid = base_grid.view(1, oh * ow, 3).bmm(rescaled_theta)
    return output_grid.view(1, oh, ow, 2)


def affine(img, angle, translate, scale):
    # torchvision.transforms.functional.affine for a tensor, shear 0, center None, fill None
    matrix = get_inverse_affine_matrix([0.0, 0.0], angle, translate, scale, [0.0, 0.0])
    theta = torch.tensor(matrix, dtype=img.dtype).reshape(1, 2, 3)
    _, h, w = img.shape
    grid = gen_affine_grid(theta, w=w, h=h, ow=w, oh=h)
    out = F.grid_sample(img.unsqueeze(0), grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.squeeze(0)


def main(out_dir):
    path = lambda name: os.path.join(out_dir, name)
    images = {dtype: torch.from_numpy(np.load(path(f"image_{dtype}.npy"))) for dtype in ("float32", "float64")}
    with open(path("affine_cases.txt")) as f:
        for line in f:
            if not line.strip():
                continue
            case_id, angle, tx, ty, scale = line.split()
            for dtype, img in images.items():
                out = affine(img, float(angle), [float(tx), float(ty)], float(scale))
                np.save(path(f"affine_{case_id}_{dtype}.npy"), out.numpy())

    with open(path("normalize.txt")) as f:
        mean = [float(v) for v in f.readline().split()]
        std = [float(v) for v in f.readline().split()]
    # torchvision.transforms.functional_tensor.normalize
    img = images["float32"].clone()
    mean_t = torch.as_tensor(mean, dtype=img.dtype).view(-1, 1, 1)
    std_t = torch.as_tensor(std, dtype=img.dtype).view(-1, 1, 1)
    np.save(path("normalize.npy"), img.sub_(mean_t).div_(std_t).numpy())

    batch = np.load(path("images.npy")).astype(np.float64)
    np.save(path("stats_mean.npy"), batch.mean(axis=(0, 2, 3)))
    np.save(path("stats_std.npy"), batch.std(axis=(0, 2, 3)))


if __name__ == "__main__":
    main(sys.argv[1])
