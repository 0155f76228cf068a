"""``videovision track``: a benchmark from a config, one video from a first-frame box or mask, bad configs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from videovision.config import compose, experiments_dir
from videovision.tools import TOOLS
from videovision.tracking.experiment import check_config, tracker_settings

SMALL = {"num_sequences": 1, "num_frames": 5, "size": 64, "num_objects": 2}
SPEC = {**SMALL, "crowd": SMALL}


def _config(tmp_path: Path, task: str, **extra) -> Path:
    config = {
        "task": task,
        "data": {"root": str(tmp_path / "data"), "embedded": True, "spec": SPEC},
        "encoder": "demo/base/appearance_encoder.yaml",
        "output": str(tmp_path / task),
        **extra,
    }
    path = tmp_path / f"{task}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_benchmarks_write_metrics_and_results(tmp_path: Path) -> None:
    metrics = TOOLS["track"](["--config", str(_config(tmp_path, "davis", tracker={"topk": 5}))])
    assert 0 <= metrics["J&F-Mean"] <= 1
    assert json.loads((tmp_path / "davis/metrics.json").read_text())["J-Mean"] == metrics["J-Mean"]
    assert len(list((tmp_path / "davis/seq01").glob("*.png"))) == 5 and (tmp_path / "davis/seq01.gif").is_file()
    mot = TOOLS["track"](["--config", str(_config(tmp_path, "mot")), "--baseline"])
    assert {"MOTA", "IDF1", "HOTA"} <= set(mot) and (tmp_path / "mot/crowd01.txt").is_file()


def test_one_video_from_a_box_and_from_a_mask(tmp_path: Path) -> None:
    config = str(_config(tmp_path, "otb"))
    TOOLS["track"](["--config", config])  # generates the embedded benchmark, whose frames serve as the video
    frames = str(tmp_path / "data/otb/seq01/img")
    out = Path(
        TOOLS["track"](["--config", config, "--video", frames, "--box", "10,12,20,16", "--output", str(tmp_path / "v")])
    )
    boxes = np.loadtxt(out / "boxes.txt", delimiter=",")
    assert boxes.shape == (5, 4) and boxes[0].tolist() == [11, 13, 20, 16] and (out / "tracked.gif").is_file()
    mask = str(tmp_path / "data/davis/Annotations/480p/seq01/00000.png")
    out = Path(TOOLS["track"](["--config", config, "--video", frames, "--mask", mask, "--output", str(tmp_path / "m")]))
    assert len(list((out / "masks").glob("*.png"))) == 5
    with pytest.raises(
        ValueError, match=re.escape(f"{frames}: first box [70.0, 12.0, 20.0, 16.0] is empty or outside")
    ):
        TOOLS["track"](["--config", config, "--video", frames, "--box", "70,12,20,16"])
    small = tmp_path / "small.png"
    Image.open(mask).crop((0, 0, 32, 64)).save(small)
    with pytest.raises(ValueError, match=re.escape(f"{small}: mask is 32x64, frames 64x64")):
        TOOLS["track"](["--config", config, "--video", frames, "--mask", str(small)])
    with pytest.raises(RuntimeError, match="nowhere: missing file"):
        TOOLS["track"](["--config", config, "--video", str(tmp_path / "nowhere"), "--box", "1,2,3,4"])


def test_unknown_keys_and_values_raise(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"tracker: unknown key\(s\) \['radius'\] for task mot"):
        TOOLS["track"](["--config", str(_config(tmp_path, "mot", tracker={"radius": 3}))])
    with pytest.raises(ValueError, match="task must be one of"):
        TOOLS["track"](["--config", str(_config(tmp_path, "vos"))])
    with pytest.raises(ValueError, match="stride must be one of"):
        TOOLS["track"](["--config", str(_config(tmp_path, "davis", features={"stride": 6}))])


@pytest.mark.parametrize("task", ["davis", "otb", "mot"])
def test_shipped_configs_are_valid(task: str) -> None:
    config = compose(experiments_dir() / "tracking" / f"{task}.yaml")
    check_config(config)
    assert config["task"] == task and tracker_settings(config) is not None
    assert config["encoder"]["class_path"] == "videovision.models.FrameTemporalEncoder"  # the file was inlined


def test_tracking_table_marks_missing_tasks() -> None:
    from videovision.tools.tracking_bench import format_table

    rows = {
        "copy first frame": {"davis": {"J&F-Mean": 0.5, "J-Mean": 0.6, "F-Mean": 0.4}, "seconds": 3.2},
        "IoU-only association": {"mot": {"MOTA": 0.81, "IDF1": 0.7, "HOTA": 0.655}, "seconds": 1.0},
    }
    lines = format_table(rows).splitlines()
    assert lines[0].startswith("| encoder | J&F | J | F | AUC | P@20 | MOTA | IDF1 | HOTA | time (s) |")
    assert lines[2] == "| copy first frame | 50.0 | 60.0 | 40.0 | - | - | - | - | - | 3 |"
    assert lines[3] == "| IoU-only association | - | - | - | - | - | 81.0 | 70.0 | 65.5 | 1 |"


def test_bench_stages_are_timed_once_and_totalled() -> None:
    from videovision.tools.tracking_bench import format_stages, stage

    stages: dict[str, dict] = {}
    with stage(stages, "generate"):
        sum(range(10**5))
    assert set(stages["generate"]) == {"wall", "cpu"} and stages["generate"]["wall"] >= 0
    with pytest.raises(ValueError, match="'generate' timed twice"), stage(stages, "generate"):
        pass
    lines = format_stages({"a": {"wall": 10.4, "cpu": 3.0}, "b": {"wall": 2.0, "cpu": 1.2}}).splitlines()
    assert lines[2:] == ["| a | 10 | 3 |", "| b | 2 | 1 |", "| total | 12 | 4 |"]
