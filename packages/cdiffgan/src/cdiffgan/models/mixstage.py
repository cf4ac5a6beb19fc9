"""Mix-StAGE generator (original ``JointLateClusterSoftStyle5_G``), the t1 model and the trunk of every later one.

trunk:  audio (B,1,64,64) -> AudioEncoder (B,C,64); tokens (B,L) -> TextEncoder (B,C,L);
        CrossModalFusion -> (B,C,64); UNet1D -> h (B,C,64)
head:   style embedding (B,style_dim) from the pose-style encoder's argmax (training) or the given id (sampling);
        f = [h; style] (B,C+sd,64); ClusterClassify(f) -> cluster logits (B,K,64), soft = softmax;
        mixture of K sub-generators: decoder(f repeated K times, grouped convs) -> z (B,C*K,64)
        -> logits (grouped 1x1 conv) -> (B,K,P,64), weighted by soft and summed over K -> pose (B,64,P=96).
Raw outputs only (the losses are computed in ``cdiffgan.losses``): the pose, the cluster logits and soft
probabilities, the style logits of the pose-style encoder on the GT pose (training) and on the generated pose with
the encoder's parameters frozen (the original's ``some_grad``).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call

from .encoders import CNR, AudioEncoder, CrossModalFusion, PoseStyleEncoder, TextEncoder, UNet1D

# the modules DiffGAN keeps trainable ("big" modules); everything else is frozen at t>=2
BIG_MODULES = ("decoder", "pose_style_encoder", "logits", "classify_cluster", "style_emb")


class MixStAGE(nn.Module):
    def __init__(self, P=96, C=256, K=8, S=25, style_dim=10, vocab_size=30522, text_encoder="embedding",
                 bert_path="", layers=2, heads=8, ff=2, dropout=0.1, cluster_layers=5, decoder_layers=4,
                 bert_config=None, bert_padding="attention_mask"):
        super().__init__()
        self.P, self.C, self.K, self.S = P, C, K, S
        self.text_encoder = TextEncoder(C, vocab_size, text_encoder, bert_path, bert_config, bert_padding)
        self.audio_encoder = AudioEncoder(C)
        self.fusion = CrossModalFusion(C, layers, heads, ff, dropout)
        self.unet = UNet1D(C)
        self.pose_style_encoder = PoseStyleEncoder(P, S, C)
        self.style_emb = nn.Embedding(S, style_dim)
        cin = C + style_dim
        self.classify_cluster = nn.Sequential(CNR(cin, C, 3), *[CNR(C, C, 3) for _ in range(cluster_layers)],
                                              nn.Conv1d(C, K, 1))
        self.decoder = nn.Sequential(CNR(cin * K, C * K, 3, groups=K),
                                     *[CNR(C * K, C * K, 3, groups=K) for _ in range(decoder_layers - 1)])
        self.logits = nn.Conv1d(C * K, P * K, 1, groups=K)

    # ---- trunk (frozen after t1) ----
    def trunk(self, batch: dict) -> torch.Tensor:
        """audio/tokens -> h (B, C, T)."""
        a = self.audio_encoder(batch["audio"])
        pad = torch.arange(batch["tokens"].shape[1], device=a.device)[None] >= batch["counts"][:, None]
        t = self.text_encoder(batch["tokens"], pad)
        return self.unet(self.fusion(a, t, batch["durations"], batch["counts"]))

    # ---- head pieces ----
    def style_features(self, h, style, y=None):
        """[h; style embedding] (B, C+sd, T) and the style logits (B, S) or None. With y (training) the style is the
        argmax of the pose-style encoder on y (``argmax=1``); otherwise the embedding of the given ids (B,) or of
        soft weights (B, S)."""
        logits = None
        if y is not None:
            logits = self.pose_style_encoder(y)
            emb = self.style_emb(logits.argmax(-1))
        elif style.dtype.is_floating_point:
            emb = style @ self.style_emb.weight
        else:
            emb = self.style_emb(style)
        return torch.cat([h, emb[:, :, None].expand(-1, -1, h.shape[-1])], 1), logits

    def mix(self, z: torch.Tensor, soft: torch.Tensor) -> torch.Tensor:
        """Sub-generator outputs logits(z) (B, K*P, T) weighted by soft (B, K, T) -> pose (B, T, P)."""
        B, _, T = z.shape
        o = self.logits(z).view(B, self.K, self.P, T)
        return (o * soft[:, :, None]).sum(1).transpose(1, 2)

    def style_logits_frozen(self, pose: torch.Tensor) -> torch.Tensor:
        """Pose-style encoder logits (B, S) of a generated pose with the encoder's parameters frozen
        (``some_grad``): gradients reach the generator only."""
        params = {k: v.detach() for k, v in self.pose_style_encoder.named_parameters()}
        return functional_call(self.pose_style_encoder, params, (pose,))

    def head(self, h, style, y=None, with_id_out=True) -> dict:
        """h (B,C,T) -> {"pose" (B,T,P), "soft" (B,K,T), "cluster_logits" (B,K,T), "style_logits" (B,S) from y,
        "style_logits_out" (B,S) of the output}; the style logits only with y (training)."""
        f, style_logits = self.style_features(h, style, y)
        cl = self.classify_cluster(f)
        soft = cl.softmax(1)
        z = self.decoder(f.repeat(1, self.K, 1))
        out = {"pose": self.mix(z, soft), "soft": soft, "cluster_logits": cl}
        if y is not None:
            out["style_logits"] = style_logits
            if with_id_out and not style.dtype.is_floating_point:
                out["style_logits_out"] = self.style_logits_frozen(out["pose"])
        return out

    def forward(self, batch: dict, train_style: bool = True) -> dict:
        """Training forward (style from the GT pose) or sampling (train_style=False, style from the id)."""
        return self.head(self.trunk(batch), batch["style"], y=batch["pose"] if train_style else None)

    @torch.no_grad()
    def sample(self, batch: dict, style=None) -> torch.Tensor:
        """Poses (B, T, P) for the batch's inputs in the given style ids (default: the batch's own)."""
        return self.head(self.trunk(batch), batch["style"] if style is None else style)["pose"]
