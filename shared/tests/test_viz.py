import numpy as np
from PIL import Image

from motionkit.skeletons import get_skeleton
from motionkit.viz import plot_curves, save_overlay_plot, save_pose_grid, save_skeleton_gif


def test_pictures_are_written(tmp_path):
    rng = np.random.default_rng(0)
    sk = get_skeleton("jk2017_kinect_21")
    seq = rng.normal(size=(5, 21, 3))
    grid = save_pose_grid(tmp_path / "grid.png", seq[:4], sk, titles=list("abcd"), ncols=2)
    pen = save_pose_grid(tmp_path / "pen.png", rng.normal(size=(3, 30, 2)).cumsum(1), None, ncols=3)
    gif = save_skeleton_gif(tmp_path / "a.gif", [seq, seq[:3]], sk, titles=["real", "fake"], fps=5)
    over = save_overlay_plot(tmp_path / "o.png", [seq, seq + 0.1], sk, reference=seq)
    curves = plot_curves(tmp_path / "c.png", {"loss": [(0, 1.0), (1, 0.5)]})
    for path in (grid, pen, over, curves):
        assert Image.open(path).size[0] > 100
    with Image.open(gif) as im:
        assert im.n_frames == 5
