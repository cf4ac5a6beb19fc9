"""The authors' files and commands: released .pth checkpoints, the original ./dataset and ./ckpt layout, the
original README's commands verbatim, convert, predict, and one-line refusals of malformed or foreign files.

Every file here is written by the test in the authors' exact format (``compat.write_original``: the original's
parameter names and ``att`` orientation; ``np.savez_compressed`` of pickled dicts for the GSPS/DS data files).
"""

import dataclasses
import json
import os
import pickle
import shutil

import numpy as np
import pytest
import torch
import yaml

from diverse_sampling import compat, main_classifier
from diverse_sampling.config import CONFIG_DIR, Config
from diverse_sampling.data.dataset import load_split
from diverse_sampling.data.derived import build_pool
from diverse_sampling.data.kinematics import valid_angle_bounds
from diverse_sampling.data.synthetic import make_synthetic
from diverse_sampling.main import main
from diverse_sampling.metrics import evaluate_model
from diverse_sampling.models import build_classifier, build_cvae, build_sampler
from motionkit.config import load_config
from motionkit.errors import run_cli


def _randomise_bn(model: torch.nn.Module) -> torch.nn.Module:
    """Running statistics away from their init, so that a wrong mapping of them would show in the outputs."""
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, torch.nn.BatchNorm1d):
                mod.running_mean.normal_(0, 0.1)
                mod.running_var.uniform_(0.5, 1.5)
    return model.eval()


def _write_released(root, cfg, t1=True, t2=True, classifier=True) -> dict:
    """ckpt/pretrained/<ds>_t{1,2}.pth and ckpt/classifier/<ds>_classifier.pth from fresh models of ``cfg``."""
    torch.manual_seed(1)
    models = {"cvae": _randomise_bn(build_cvae(cfg)), "sampler": _randomise_bn(build_sampler(cfg)),
              "classifier": build_classifier(dataclasses.replace(cfg, cls_hidden=128, cls_layers=2, cls_feat=30))}
    if t1:
        compat.write_original(root / "ckpt/pretrained" / f"{cfg.dataset}_t1.pth", models["cvae"].state_dict(), "cvae")
    if t2:
        compat.write_original(root / "ckpt/pretrained" / f"{cfg.dataset}_t2.pth", models["sampler"].state_dict(),
                              "sampler", epoch=1500, curr_err=3.25)
    if classifier:
        compat.write_original(root / "ckpt/classifier" / f"{cfg.dataset}_classifier.pth",
                              models["classifier"].state_dict(), "classifier")
    return models


def _write_authors_data(root, cfg) -> None:
    """./dataset/<ds>_valid_angle.p and the GSPS/DS candidate pool + multimodal index, in the authors' format."""
    from diverse_sampling.data import authors

    cfg = dataclasses.replace(cfg, data_root=str(root / "dataset"), use_authors_files=False)
    data = load_split(cfg, "train")
    bounds = valid_angle_bounds(cfg.dataset, data.all_frames())
    with open(root / "dataset" / f"{cfg.dataset}_valid_angle.p", "wb") as f:
        pickle.dump({k: np.array(v, dtype=np.float32) for k, v in bounds.items()}, f)
    dirs = build_pool(data, cfg)
    pool_path, index_path = authors.pool_file(cfg), authors.index_file(cfg)
    pool_path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(pool_path, **{"data_candidate.npy": dirs})  # the DS file's key, literally
    rng = np.random.default_rng(0)
    index = {s: {a: {np.int64(t): np.sort(rng.choice(len(dirs), size=int(rng.integers(0, 4)), replace=False))
                     for t in range(len(seq) - cfg.t_total + 1)} for a, seq in acts.items()}
             for s, acts in data.takes.items()}
    np.savez_compressed(index_path, data_multimodal=index)


@pytest.fixture(scope="module")
def released_layout(tmp_path_factory):
    """The original repository's folders with paper-size released files and a small synthetic H36M."""
    root = tmp_path_factory.mktemp("original_layout")
    path = make_synthetic("h36m", root / "dataset", frames_per_take=160, takes_per_action=1, seed=0)
    takes = np.load(path, allow_pickle=True)["positions_3d"].item()
    for s in ("S9", "S11"):  # one long test take per subject: a few windows keep paper-size evaluation quick
        longest = max(takes[s], key=lambda a: len(takes[s][a]))
        takes[s] = {longest: takes[s][longest]}
    np.savez_compressed(path, positions_3d=takes)  # VideoPose3D's exact layout
    cfg = load_config(Config, CONFIG_DIR / "h36m_t2.yaml", {"data_root": str(root / "dataset")})
    models = _write_released(root, cfg)
    return root, cfg, models


def _metrics_json(root, stem):
    return json.loads((root / "runs/diverse_sampling" / f"eval_{stem}" / "metrics.json").read_text())


def test_original_readme_evaluate_and_classifier_commands_verbatim(released_layout, monkeypatch, capsys):
    root, cfg, models = released_layout
    monkeypatch.chdir(root)
    drawn = []  # the renders are tested elsewhere (test_regression); here a paper-size GIF would cost ~40 s
    monkeypatch.setattr("diverse_sampling.evaluate.render_futures", lambda *a, **k: drawn.append(a[1].shape) or [])
    # python main.py --exp_name=h36m_t2 --is_load=1 --model_path=ckpt/pretrained/h36m_t2.pth
    assert main(["--exp_name=h36m_t2", "--is_load=1", "--model_path=ckpt/pretrained/h36m_t2.pth"]) == 0
    out = capsys.readouterr().out
    assert "ckpt/pretrained/h36m_t1.pth" in out and "ckpt/classifier/h36m_classifier.pth" in out
    released = _metrics_json(root, "h36m_t2")
    assert set(released) == {"APD", "ADE", "FDE", "MMADE", "MMFDE", "FID", "ACC"}
    assert drawn == [(cfg.nk, cfg.t_pred, 48)]
    # the same weights held in memory by our models give the same numbers
    from diverse_sampling.data.dataset import build_test_set

    test = build_test_set(dataclasses.replace(cfg, data_root="dataset"))
    clf = models["classifier"]
    clf.random_h0 = cfg.classifier_random_h0
    direct = evaluate_model(dataclasses.replace(cfg, data_root="dataset"), models["cvae"], models["sampler"], test,
                            "cpu", classifier=clf.eval(), progress=False)
    for k, v in released.items():
        assert v == pytest.approx(direct[k], rel=1e-6, abs=1e-9), k
    # --is_load=1 without --model_path restores ./ckpt/pretrained/<exp_name>.pth, as the original does
    assert main(["--exp_name=h36m_t2", "--is_load=1", "--no-render"]) == 0
    assert _metrics_json(root, "h36m_t2") == released
    # python main_classifier.py --exp_name=h36m_t2
    assert main_classifier.main(["--exp_name=h36m_t2"]) == 0
    out = capsys.readouterr().out
    assert f"fid {released['FID']:.4f} -- acc {released['ACC']:.4f}" in out


def test_convert_gives_the_same_numbers_in_our_format(released_layout, monkeypatch, capsys):
    root, cfg, _ = released_layout
    monkeypatch.chdir(root)
    for name in ("pretrained/h36m_t1", "pretrained/h36m_t2", "classifier/h36m_classifier"):
        assert main(["convert", "--exp_name=h36m_t2", f"--model_path=ckpt/{name}.pth", f"--out=ours/{name}.pt"]) == 0
    assert main(["--exp_name=h36m_t2", "--is_load=1", "--model_path=ckpt/pretrained/h36m_t2.pth", "--no-render"]) == 0
    released = _metrics_json(root, "h36m_t2")
    assert main(["evaluate", "--exp_name=h36m_t2", "--model_path=ours/pretrained/h36m_t2.pt", "--no-render",
                 "--t1_checkpoint=ours/pretrained/h36m_t1.pt",
                 "--classifier_checkpoint=ours/classifier/h36m_classifier.pt"]) == 0
    assert _metrics_json(root, "h36m_t2") == released  # eval_h36m_t2 again: our files, identical numbers
    state = torch.load(root / "ours/pretrained/h36m_t2.pt", weights_only=False)
    assert set(state["modules"]) == {"sampler"} and state["step"] == 1500


class _Evil:
    """A pickle that would run a command when loaded by an unrestricted unpickler."""

    marker = None

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _write_foreign(kind: str, path, evil) -> None:
    if kind == "evil":
        torch.save({"model": evil}, path)
    elif kind == "garbage":
        path.write_bytes(b"not a checkpoint at all")
    elif kind == "foreign":
        torch.save({"model": {"foo.weight": torch.zeros(2)}}, path)
    elif kind == "nomodel":
        torch.save({"epoch": 3, "weights": {}}, path)
    else:  # a released-format CVAE of another config (the small test one)
        small = load_config(Config, CONFIG_DIR / "test_small_t1.yaml", {"data_root": "dataset"})
        compat.write_original(path, build_cvae(small).state_dict(), "cvae")


@pytest.mark.fault(4, "a malformed or foreign --model_path (pickle exploit, garbage, foreign keys, other config)")
@pytest.mark.parametrize("kind,message", [
    ("evil", "posix.system"), ("garbage", "not a torch checkpoint"), ("foreign", "neither the original's CVAE"),
    ("nomodel", "neither our checkpoint"), ("small_t1", "for this config"),
])
def test_malformed_and_foreign_files_are_refused_in_one_line(released_layout, monkeypatch, capsys, tmp_path, kind,
                                                             message):
    root, cfg, _ = released_layout
    monkeypatch.chdir(root)
    evil = _Evil()
    evil.marker = tmp_path / "pwned"
    path = tmp_path / f"{kind}.pth"
    _write_foreign(kind, path, evil)
    capsys.readouterr()
    code = run_cli(main, ["--exp_name=h36m_t2", "--is_load=1", f"--model_path={path}", "--no-render"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and message in err and path.name in err, err
    assert not evil.marker.exists()


@pytest.mark.fault(4, "an authors' valid-angle pickle or multimodal index holding a non-array object")
@pytest.mark.parametrize("kind", ["valid_angle", "index"])
def test_pickled_data_files_holding_objects_are_refused(tmp_path, kind):
    from diverse_sampling.data.authors import read_index, read_valid_angles
    from motionkit.errors import DataFormatError

    evil = _Evil()
    evil.marker = tmp_path / "pwned"
    if kind == "valid_angle":
        path = tmp_path / "h36m_valid_angle.p"
        with open(path, "wb") as f:
            pickle.dump({"Spine2Hip": evil}, f)
        read = lambda: read_valid_angles(path)  # noqa: E731
    else:
        path = tmp_path / "index.npz"
        np.savez_compressed(path, data_multimodal={"S1": {"Walking": {0: evil}}})
        read = lambda: read_index(path, 10)  # noqa: E731
    with pytest.raises(DataFormatError, match="refused to unpickle posix.system") as err:
        read()
    assert "\n" not in str(err.value)
    assert not evil.marker.exists()


@pytest.fixture()
def tiny_original_layout(tmp_path, monkeypatch):
    """The original layout at test size: configs h36m_t1/h36m_t2 are the small test configs under the paper's
    names (CONFIG_DIR patched), so the original README's train commands run verbatim in seconds."""
    conf = tmp_path / "configs"
    conf.mkdir()
    for stage in ("t1", "t2"):
        y = yaml.safe_load((CONFIG_DIR / f"test_small_{stage}.yaml").read_text())
        y.update(exp_name=f"h36m_{stage}", data_root="", t1_checkpoint="", classifier_checkpoint="", epochs=2,
                 eval_every=2, save_every=1, legacy_recoverhis_bug=True, legacy_skip_lonely_windows=True)
        (conf / f"h36m_{stage}.yaml").write_text(yaml.safe_dump(y))
    monkeypatch.setattr("diverse_sampling.main.CONFIG_DIR", conf)
    make_synthetic("h36m", tmp_path / "dataset", frames_per_take=120, takes_per_action=1, seed=0)
    monkeypatch.chdir(tmp_path)
    cfg = load_config(Config, conf / "h36m_t1.yaml", {"data_root": "dataset"})
    _write_authors_data(tmp_path, cfg)
    models = _write_released(tmp_path, load_config(Config, conf / "h36m_t2.yaml", {"data_root": "dataset"}),
                             classifier=False)
    return tmp_path, cfg, models


def test_original_readme_train_commands_verbatim(tiny_original_layout, capsys):
    root, cfg, released = tiny_original_layout
    # python main.py --exp_name=h36m_t1 --is_train=1
    assert main(["--exp_name=h36m_t1", "--is_train=1"]) == 0
    out = capsys.readouterr().out
    assert "the authors' files dataset/data_multi_modal/data_candi_t_his10_t_pred20_skiprate5.npz" in out
    assert "valid-angle bounds: the authors' file dataset/h36m_valid_angle.p" in out
    assert (root / "runs/diverse_sampling/h36m_t1/last.pt").is_file()
    # python main.py --exp_name=h36m_t2 --is_train=1   (decodes with ./ckpt/pretrained/h36m_t1.pth, as the original)
    assert main(["--exp_name=h36m_t2", "--is_train=1"]) == 0
    assert "frozen CVAE of ckpt/pretrained/h36m_t1.pth" in capsys.readouterr().out
    # --is_load=1 --is_train=1: fine-tune the released t2 file
    assert main(["--exp_name=h36m_t2", "--is_load=1", "--is_train=1"]) == 0
    assert "initialised the sampler from ckpt/pretrained/h36m_t2.pth" in capsys.readouterr().out
    assert (root / "runs/diverse_sampling/h36m_t2-2/last.pt").is_file()


def test_authors_pool_places_candidates_like_the_original(tiny_original_layout):
    from diverse_sampling.data.authors import load_authors_pool
    from diverse_sampling.data.kinematics import bone_lengths

    root, cfg, _ = tiny_original_layout
    data = load_split(cfg, "train")
    pool = load_authors_pool(cfg, data)
    assert pool is not None and pool.dirs.shape[1:] == (cfg.t_total, 16, 3)
    s = "S1"
    first = data.first_take(s)  # the first take in the file's order, not the sorted one
    assert first == next(iter(np.load(root / "dataset/data_3d_h36m.npz", allow_pickle=True)["positions_3d"]
                              .item()[s]))
    cand = pool.positions(s, 0)
    np.testing.assert_allclose(bone_lengths(cand, data.layout.node_parents),
                               np.broadcast_to(bone_lengths(data.takes[s][first][0], data.layout.node_parents),
                                               (cfg.t_total, 16)), atol=1e-5)
    a = sorted(data.takes[s])[0]
    assert pool.candidates(s, a, 10**6).size == 0  # not in the index: no candidates


@pytest.mark.parametrize("units", ["m", "mm"])
def test_predict_continues_the_users_history(tiny_original_layout, units, capsys):
    root, cfg, released = tiny_original_layout
    # a CVAE whose decoder adds nothing: its futures are the DCT of the padded history (exact when dct_n = T),
    # so the first predicted frame must equal the last observed one
    shutil.rmtree(root / "ckpt/pretrained")
    full = dataclasses.replace(cfg, dct_n=cfg.t_total, stage="t2")
    _write_released(root, full, classifier=False)
    state = compat.read_pth(root / "ckpt/pretrained/h36m_t1.pth")
    for key in [k for k in state["model"] if k.startswith("dec.") and k.count(".") == 2]:  # the output GraphConv
        state["model"][key].zero_()
    torch.save(state, root / "ckpt/pretrained/h36m_t1.pth")
    rng = np.random.default_rng(0)
    world = rng.normal(size=(cfg.t_his + 5, 32, 3)) * 0.3 + np.array([1.0, 2.0, 0.9])  # 32-joint file layout
    np.save(root / "mine.npy", world * (1000.0 if units == "mm" else 1.0))
    assert main(["predict", "--exp_name=h36m_t2", "--model_path=ckpt/pretrained/h36m_t2.pth", "--history=mine.npy",
                 f"--units={units}", f"--dct_n={cfg.t_total}", "--out=pred", "--no-render"]) == 0
    out = np.load(root / "pred/futures.npz")
    fut, his = out["futures"], out["history"]
    assert fut.shape == (cfg.nk, cfg.t_pred, 17, 3) and his.shape == (cfg.t_his, 17, 3)
    kept = world[-cfg.t_his:][:, [0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27]]
    np.testing.assert_allclose(his[:, 1:], kept[:, 1:] - kept[:, :1], atol=1e-5)
    assert np.abs(fut[:, :, 0]).max() == 0.0  # root at the origin
    np.testing.assert_allclose(fut[:, 0], np.broadcast_to(his[-1], fut[:, 0].shape), atol=1e-4)


@pytest.mark.parametrize("dataset,n_cvae", [("h36m", 1_777_054), ("humaneva", 1_691_946)])
def test_released_format_round_trip_at_paper_sizes(tmp_path, dataset, n_cvae):
    from diverse_sampling.models import load_cvae, load_sampler

    cfg = load_config(Config, CONFIG_DIR / f"{dataset}_t2.yaml", {"data_root": str(tmp_path)})
    cvae, sampler = _randomise_bn(build_cvae(cfg)), _randomise_bn(build_sampler(cfg))
    assert sum(p.numel() for p in cvae.parameters()) == n_cvae  # the original's counts
    for kind, model, load in (("cvae", cvae, load_cvae), ("sampler", sampler, load_sampler)):
        path = compat.write_original(tmp_path / f"{kind}.pth", model.state_dict(), kind)
        raw = torch.load(path, weights_only=False)["model"]
        assert not any(k.startswith(("encoder.", "decoder.", "out.", "n_beta.")) for k in raw)  # the original's names
        back = load(path, cfg).state_dict()
        assert all(torch.equal(back[k], v) for k, v in model.state_dict().items())
