"""JK2017 Kinect v2 gestures (Jackknife, CHI 2017): reader and writer of the text format (deepnag.md §3.2).

Layout: `training/Sub_U<id>/<gesture>/ex_<k>.txt`. A file is:

    <gesture name>          (must match the folder name)
    <frame count>
    ####                    (one per frame)
    x,y,z                   (21 lines, meters, camera space, joint order of motionkit's "jk2017_kinect_21")
    ...

Each frame is flattened to 63 features (joint-major: j0.x, j0.y, j0.z, j1.x, ...).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepnag.data.gestures import GestureSet
from motionkit.errors import DataFormatError, DatasetMissingError

N_JOINTS = 21
# a coordinate beyond this is a damaged value, not a pose: it would set the normaliser's range (every real
# gesture squeezed to one point), so it is refused like a non-finite one
MAX_METRES = 100.0
JK2017_CLASSES = (
    "cartwheel_left", "cartwheel_right", "duck", "hook_left", "hook_right", "jab_left", "jab_right",
    "kick_left", "kick_right", "push", "sidekick_left", "sidekick_right", "uppercut_left", "uppercut_right",
)


def display_name(gesture: str) -> str:
    """"kick_left" -> "Kick (left)", as the original's figures label them."""
    base, _, side = gesture.rpartition("_")
    if side in ("left", "right") and base:
        return f"{base.replace('_', ' ').capitalize()} ({side})"
    return gesture.replace("_", " ").capitalize()


def read_jk2017_file(path: str | Path, expected_name: str | None = None) -> tuple[str, np.ndarray]:
    """One JK2017 file -> (gesture name, frames (T, 21, 3)). Any deviation is a one-line DataFormatError."""
    path = Path(path)
    if path.is_dir():
        raise DataFormatError(f"{path}: is a folder where a JK2017 gesture file belongs")
    try:
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8", errors="strict").splitlines()]
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{path}: not a UTF-8 text file (byte {exc.start}); not a JK2017 gesture file") from None
    lines = [ln for ln in lines if ln]
    if len(lines) < 2:
        raise DataFormatError(f"{path}: too short for a JK2017 file (needs a gesture name and a frame count)")
    name = lines[0]
    if expected_name is not None and name != expected_name:
        raise DataFormatError(f"{path}: gesture name {name!r} does not match its folder {expected_name!r}")
    try:
        n_frames = int(lines[1])
    except ValueError:
        raise DataFormatError(f"{path}: line 2 should be the frame count, got {lines[1]!r}") from None
    body = lines[2:]
    per_frame = N_JOINTS + 1
    if n_frames < 1:
        raise DataFormatError(f"{path}: line 2 says {n_frames} frames; a gesture needs at least one")
    if len(body) != n_frames * per_frame:
        raise DataFormatError(
            f"{path}: header says {n_frames} frames, i.e. {n_frames * per_frame} lines of '####' + 21 joints, "
            f"but the file has {len(body)}"
        )
    frames = np.empty((n_frames, N_JOINTS, 3))
    for f in range(n_frames):
        block = body[f * per_frame:(f + 1) * per_frame]
        if block[0] != "####":
            raise DataFormatError(f"{path}: frame {f + 1} does not start with '####' (got {block[0]!r})")
        for j, text in enumerate(block[1:]):
            parts = text.split(",")
            try:
                if len(parts) != 3:
                    raise ValueError
                frames[f, j] = [float(v) for v in parts]
            except ValueError:
                raise DataFormatError(f"{path}: frame {f + 1} joint {j}: expected 'x,y,z', got {text!r}") from None
    if not np.isfinite(frames).all():
        raise DataFormatError(f"{path}: contains non-finite coordinates")
    if np.abs(frames).max() > MAX_METRES:
        f, j, _ = np.unravel_index(np.abs(frames).argmax(), frames.shape)
        raise DataFormatError(f"{path}: frame {f + 1} joint {j} has a coordinate of {np.abs(frames[f, j]).max():.3g} "
                              f"m (a Kinect sees up to ~8 m; the limit is {MAX_METRES:g} m)")
    return name, frames


def write_jk2017_file(path: str | Path, name: str, frames: np.ndarray) -> None:
    """Write frames (T, 21, 3) in the JK2017 text format."""
    frames = np.asarray(frames)
    if frames.ndim != 3 or frames.shape[1:] != (N_JOINTS, 3):
        raise ValueError(f"write_jk2017_file expects (T, 21, 3), got {frames.shape}")
    out = [name, str(len(frames))]
    for frame in frames:
        out.append("####")
        out.extend(f"{x:.7g},{y:.7g},{z:.7g}" for x, y, z in frame)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n")


def _find_training(root: Path) -> Path:
    for candidate in (root / "training", root / "kinect" / "training", root / "datasets" / "jk2017" / "kinect"
                      / "training", root):
        if candidate.is_dir() and any(candidate.glob("Sub_*")):
            return candidate
    raise DatasetMissingError(
        f"{root}: no JK2017 Kinect data found (expected {root}/training/Sub_U100/<gesture>/ex_1.txt); clone "
        "https://github.com/ISUE/Jackknife and pass --data-root=<clone>/datasets/jk2017/kinect (academic use only)"
    )


def load_jk2017(root: str | Path) -> GestureSet:
    """Read JK2017 Kinect from `root` (the `kinect/` folder holding `training/`, or `training/` itself).

    Returns raw (T_i, 63) sequences in meters; labels index JK2017_CLASSES (alphabetical, as the original).
    """
    training = _find_training(Path(root))
    files = sorted(training.glob("Sub_*/*/*.txt"))
    if not files:
        raise DatasetMissingError(f"{training}: no Sub_*/<gesture>/*.txt files")
    index = {c: i for i, c in enumerate(JK2017_CLASSES)}
    seqs, labels, subjects = [], [], []
    for path in files:
        gesture = path.parent.name
        if gesture not in index:
            raise DataFormatError(f"{path}: unknown gesture folder {gesture!r} (not one of the 14 JK2017 gestures)")
        _, frames = read_jk2017_file(path, expected_name=gesture)
        seqs.append(frames.reshape(len(frames), -1))
        labels.append(index[gesture])
        subjects.append(path.parent.parent.name)
    return GestureSet(seqs, np.asarray(labels), list(JK2017_CLASSES), subjects, [str(f) for f in files], "kinect")
