"""The ViT per-frame backbone: torchvision's VisionTransformer under the ResNetFrames contract."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch
from torchvision.models.vision_transformer import VisionTransformer

from videovision.models import (
    FrameTemporalEncoder,
    RecurrentTemporal,
    SpatialConvRefiner,
    TemporalConvRefiner,
    ViTFrames,
)
from videovision.tracking.features import DenseFeatures, encoder_backbone

from .test_streaming import stream

TINY = {"image_size": 32, "patch_size": 8, "num_layers": 2, "num_heads": 4, "hidden_dim": 32, "mlp_dim": 64}


def _torchvision_patch_tokens(vit: VisionTransformer, frames: torch.Tensor) -> torch.Tensor:
    """torchvision's own path to the encoded tokens, class token dropped: (N, h*w, D)."""
    x = vit._process_input(frames)
    x = torch.cat([vit.class_token.expand(len(x), -1, -1), x], dim=1)
    return vit.encoder(x)[:, 1:]


def test_maps_are_torchvisions_patch_tokens_on_the_patch_grid():
    torch.manual_seed(0)
    backbone = ViTFrames(**TINY).eval()
    clips = torch.randn(2, 3, 3, 32, 32)
    with torch.no_grad():
        maps = backbone(clips)
        tokens = _torchvision_patch_tokens(backbone.vit, clips.flatten(0, 1))
    assert maps.shape == (2, 3, 32, 4, 4) and backbone.out_channels == 32
    torch.testing.assert_close(maps.flatten(0, 1).flatten(2).transpose(1, 2), tokens)
    assert backbone(torch.randn(1, 2, 3, 48, 32)).shape == (1, 2, 32, 6, 4), "position embeddings resized"
    with pytest.raises(ValueError, match="not a multiple of patch_size 8"):
        backbone(torch.randn(1, 1, 3, 36, 32))
    with pytest.raises(ValueError, match="must be a multiple of patch_size"):
        ViTFrames(image_size=30)


def test_weights_from_a_local_torchvision_state_dict_and_never_a_download(tmp_path):
    torch.manual_seed(1)
    reference = VisionTransformer(32, 8, 2, 4, 32, 64, num_classes=10).eval()
    path = tmp_path / "vit.pt"
    torch.save(reference.state_dict(), path)  # with its classification head, which is ignored
    loaded = ViTFrames(**TINY, weights=str(path)).eval()
    frames = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(
            loaded(frames[:, None])[:, 0].flatten(2).transpose(1, 2), _torchvision_patch_tokens(reference, frames)
        )
    with pytest.raises(ValueError, match="does not fit ViTFrames"):
        ViTFrames(**{**TINY, "hidden_dim": 64}, weights=str(path))
    with pytest.raises(ValueError, match="must be a local file"):
        ViTFrames(**TINY, weights="IMAGENET1K_V1")


def _vit_encoder() -> FrameTemporalEncoder:
    torch.manual_seed(0)
    return FrameTemporalEncoder(
        ViTFrames(**TINY),
        partial(RecurrentTemporal, cell="gru", hidden_size=16),
        spatial_refiner=partial(SpatialConvRefiner, out_channels=8),
        temporal_refiner=partial(TemporalConvRefiner, kernel_size=3, num_layers=1),
        pool_grid=2,
    ).eval()


def test_a_vit_encoder_streams_like_the_whole_clip_and_gives_dense_features():
    encoder = _vit_encoder()
    clips = torch.randn(2, 5, 3, 32, 32)
    with torch.no_grad():
        whole = encoder.features(clips)
        streamed, _ = stream(encoder, clips)
    assert whole["maps"].shape == (2, 5, 8, 4, 4) and whole["clip"].shape == (2, 16)
    torch.testing.assert_close(streamed, whole["frames"], atol=1e-5, rtol=0)
    dense = DenseFeatures(encoder_backbone(encoder), stride=8)(np.zeros((3, 32, 48, 3), np.uint8))
    assert dense.shape == (3, 32, 4, 6)
    torch.testing.assert_close(dense.norm(dim=1), torch.ones(3, 4, 6))
    with pytest.raises(ValueError, match=r"stride must be one of \[8\]"):
        DenseFeatures(encoder.backbone, stride=4)


def test_encoder_costs_lists_the_vit_with_its_throughput(capsys):
    from videovision.tools.encoder_costs import main

    main(["--match", "ViT/8", "--frames", "2", "--size", "32", "--clips-per-second", "--batch", "1", "--repeats", "1"])
    header, _, row = capsys.readouterr().out.strip().splitlines()
    assert header.endswith("| clips/s |")
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:3] == ["ViT/8 (4 layers, 128; the demo's) → GRU-512", "512", "1.8"] and float(cells[4]) > 0
