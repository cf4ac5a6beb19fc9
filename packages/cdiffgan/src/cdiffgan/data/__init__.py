"""PATS reader, synthetic stand-in, statistics, few-shot sampler and featurizer.

PATS is CC BY-NC-ND and is not redistributed: each speaker is registered in motionkit's registry as
``pats-<speaker>`` (no URL is stored; the user downloads the speaker's archive from the PATS page and unpacks it
into the folder holding ``cmu_intervals_df.csv``).
"""

from motionkit.datasets import DatasetSpec, register

from .pats import PatsData

PATS_SPEAKERS = ("oliver", "maher", "chemistry", "ytch_prof", "lec_evol")


def load_pats(root, speakers=PATS_SPEAKERS[:1], split="train", window_hop=0):
    """Registry loader of the "pats" data set (motionkit.datasets): windows of `speakers` in `split`."""
    return PatsData(root, speakers, split, window_hop)


for _spk in PATS_SPEAKERS:
    register(DatasetSpec(
        name=f"pats-{_spk}", description=f"PATS speaker '{_spk}' (pose/normalize, audio/log_mel_400, text/tokens)",
        homepage="https://chahuja.com/pats/", licence="CC BY-NC-ND 4.0 (non-commercial; not redistributed)",
        redistributable=False, loader=load_pats,
        citation="Ahuja et al. Style transfer for co-speech gesture animation. ECCV 2020.",
        how_to_get=f"download the '{_spk}' archive from https://chahuja.com/pats/ and unpack it next to "
                   "cmu_intervals_df.csv (processed/<speaker>/<interval>.h5); pass that folder as data_dir"),
        replace=True)

__all__ = ["PATS_SPEAKERS", "PatsData", "load_pats"]
