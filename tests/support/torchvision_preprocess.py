"""Reference ImageNet preprocessing by torchvision, for tests/test_preprocess.cpp.

Usage: torchvision_preprocess.py RESIZE CROP OUT_DIR IMAGE.png...
Writes, per image STEM.png, for the tensor path (torchvision.transforms.functional on a uint8 tensor, resize with
antialias=True) and the PIL path (the classic Resize/CenterCrop/ToTensor/Normalize on a PIL image):
  OUT_DIR/STEM_{tensor,pil}_resized.npy     uint8 HWC, after the shorter-side resize
  OUT_DIR/STEM_{tensor,pil}_normalized.npy  float32 [1, 3, CROP, CROP]
"""
import pathlib
import sys

import numpy as np
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as F
from PIL import Image

resize, crop, out_dir = int(sys.argv[1]), int(sys.argv[2]), pathlib.Path(sys.argv[3])
mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]

for image_path in map(pathlib.Path, sys.argv[4:]):
    out = out_dir / image_path.stem
    picture = Image.open(image_path).convert("RGB")

    chw = torch.from_numpy(np.asarray(picture).copy()).permute(2, 0, 1)
    resized = F.resize(chw, resize, interpolation=T.InterpolationMode.BILINEAR, antialias=True)
    normalized = F.normalize(F.convert_image_dtype(F.center_crop(resized, crop), torch.float32), mean, std)
    np.save(f"{out}_tensor_resized.npy", resized.permute(1, 2, 0).numpy())
    np.save(f"{out}_tensor_normalized.npy", normalized.unsqueeze(0).numpy())

    pil_resized = T.Resize(resize, interpolation=T.InterpolationMode.BILINEAR)(picture)
    pil_normalized = T.Compose([T.CenterCrop(crop), T.ToTensor(), T.Normalize(mean, std)])(pil_resized)
    np.save(f"{out}_pil_resized.npy", np.asarray(pil_resized))
    np.save(f"{out}_pil_normalized.npy", pil_normalized.unsqueeze(0).numpy())
