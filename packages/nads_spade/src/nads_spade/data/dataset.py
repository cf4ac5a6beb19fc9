"""Torch dataset over :class:`~nads_spade.data.formats.Sample` lists: resized image, joints, belt mask.

Each item: ``image`` (3, S, S) RGB in [0, 1] (bicubic, non-uniform resize like the original's 1920x1080 -> 384);
``joints`` (P, 9, 3) in input pixels (P = max_people, or the most people in the set; padding rows v = 0);
``belt`` (1, S, S) in [0, 1] (bicubic; the trainer thresholds it, see ``labels.belt_target``);
``belt_valid`` 1.0 when the image has a belt mask.
Normalisation is done by the consumer (ImageNet mean/std for NADS-Net, [-1, 1] for the GAN).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from motionkit.errors import ConfigError, DataFormatError
from nads_spade.data.formats import Sample, read_coco, read_original
from nads_spade.labels import NUM_KEYPOINTS

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageFileError(DataFormatError):
    """An image or mask that cannot be decoded. Raised inside a DataLoader worker, torch re-raises it in the
    main process as ``ImageFileError(<its message and the worker's traceback>)``; this keeps only the original
    one-line message."""

    def __init__(self, message: str) -> None:
        text = str(message)
        if "Original Traceback" in text:
            text = text.rsplit(f"{type(self).__name__}: ", 1)[-1]
        super().__init__(text)


class NadsDataset(torch.utils.data.Dataset):
    """``max_people`` 0 pads every image to the most people of any image (all kept, as the project did); a
    positive value smaller than an image's count is a one-line error, never a silent drop."""

    def __init__(self, samples: list[Sample], image_size: int, max_people: int = 0):
        most = max((len(s.joints) for s in samples), default=0)
        if max_people and most > max_people:
            worst = next(s for s in samples if len(s.joints) == most)
            raise DataFormatError(f"{worst.image_path}: {most} annotated people, more than max_people "
                                  f"{max_people} (0 keeps every person)")
        self.samples, self.size, self.max_people = samples, image_size, max(max_people or most, 1)

    def __len__(self) -> int:
        return len(self.samples)

    def _open(self, path, mode, resize: bool = True):
        """The image at ``path`` in ``mode`` (resized to S x S); a file that is not an image (empty, a folder,
        damaged) is a one-line DataFormatError naming it."""
        try:
            with Image.open(path) as im:
                im = im.convert(mode)
        except (OSError, ValueError) as e:
            raise ImageFileError(f"{path}: cannot decode image ({e})") from None
        return im.resize((self.size, self.size), Image.BICUBIC) if resize else im

    def __getitem__(self, i: int) -> dict:
        s = self.samples[i]
        image = self._open(s.image_path, "RGB", resize=False)
        if image.size != (s.width, s.height):  # the keypoints are scaled by the annotated size
            raise ImageFileError(f"{s.image_path}: image is {image.size[0]} x {image.size[1]}, but its annotation "
                                  f"says {s.width} x {s.height} (the keypoints would land in the wrong place)")
        img = np.asarray(image.resize((self.size, self.size), Image.BICUBIC), dtype=np.float32) / 255.0
        joints = np.zeros((self.max_people, NUM_KEYPOINTS, 3), np.float32)
        people = s.joints.copy()
        people[..., 0] *= self.size / s.width
        people[..., 1] *= self.size / s.height
        people[people[..., 2] < 1] = 0.0
        joints[: len(people)] = people
        if s.mask_path is not None:
            m = np.asarray(self._open(s.mask_path, "RGB", resize=False), dtype=np.float32)[..., 0]
            belt = torch.from_numpy(m / 255.0)[None, None]
            belt = torch.nn.functional.interpolate(belt, size=(self.size, self.size), mode="bicubic",
                                                   align_corners=False)[0].clamp(0, 1)
            valid = 1.0
        else:
            belt, valid = torch.zeros(1, self.size, self.size), 0.0
        return {"image": torch.from_numpy(img).permute(2, 0, 1).contiguous(), "joints": torch.from_numpy(joints),
                "belt": belt.float(), "belt_valid": torch.tensor(valid), "index": torch.tensor(i)}


def imagenet_normalize(x01: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] -> ImageNet mean/std (NADS-Net and PVT input)."""
    mean = torch.tensor(IMAGENET_MEAN, device=x01.device, dtype=x01.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x01.device, dtype=x01.dtype).view(1, 3, 1, 1)
    return (x01 - mean) / std


def build_dataset(cfg, split: str) -> NadsDataset:
    """split in {train, val, test}: format (a) from ``<split>_root`` or format (b) from ``coco_<split>_*``."""
    if cfg.data_format == "coco":
        js = cfg.coco_train_json if split == "train" else cfg.coco_val_json
        imgs = cfg.coco_train_images if split == "train" else cfg.coco_val_images
        which = "train" if split == "train" else "val"
        for flag, value in ((f"coco_{which}_json", js), (f"coco_{which}_images", imgs)):
            if not str(value).strip():
                raise ConfigError(f"--{flag} is empty: data_format coco needs the {which} split's "
                                  + ("person_keypoints_*.json file" if flag.endswith("json") else "image folder"))
        samples = read_coco(js, imgs)
    elif cfg.data_format == "original":
        root = {"train": cfg.train_root, "val": cfg.val_root, "test": cfg.test_root}[split]
        if not str(root).strip():
            raise ConfigError(f"--{split}_root is empty: give the {split} split's folder (data_format original)")
        samples = read_original(root)
    else:
        raise DataFormatError(f"data_format: unknown value {cfg.data_format!r} (original | coco)")
    if cfg.max_samples:
        samples = samples[: cfg.max_samples]
    return NadsDataset(samples, cfg.image_size, cfg.max_people)


def seed_loader_epoch(loader, seed: int, epoch: int) -> None:
    """Same shuffling for an epoch whether or not the run was resumed (DDP samplers use seed + epoch too)."""
    from motionkit.training.ddp import set_loader_epoch

    set_loader_epoch(loader, epoch)
    if getattr(loader, "generator", None) is not None:
        loader.generator.manual_seed(seed + epoch)
