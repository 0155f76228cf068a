"""The HTTP API through FastAPI's TestClient: jobs with results on disk (kept across a restart), the limits
(413, 415, 422, 429), the WebSocket stream, health and the OpenAPI schema."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from starlette.websockets import WebSocketDisconnect

from tests.serving_helpers import CLASSES, classifier_checkpoint, small_video
from videovision.serving.api import Settings, create_app
from videovision.serving.jobs import JobStore


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return classifier_checkpoint(tmp_path_factory.mktemp("ckpt") / "probe.ckpt")


@pytest.fixture
def settings(tmp_path, checkpoint):
    samples = tmp_path / "samples"
    small_video(samples / "moving" / "a.avi", num_frames=10)
    return Settings(str(checkpoint), data_dir=str(tmp_path / "serve"), samples_dir=str(samples), max_upload_mb=0.2)


def wait_done(client: TestClient, job_id: str, timeout: float = 60) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = client.get(f"/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def test_upload_gives_a_job_whose_result_is_kept_on_disk(settings, tmp_path):
    video = small_video(tmp_path / "clip.avi", num_frames=12)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json()["classes"] == CLASSES
        assert "/jobs" in client.get("/openapi.json").json()["paths"]
        assert "<title>VideoVision</title>" in client.get("/").text
        response = client.post("/jobs", files={"file": ("clip.avi", video.read_bytes(), "video/x-msvideo")})
        assert response.status_code == 202, response.text
        job = wait_done(client, response.json()["id"])
        assert job["status"] == "done" and job["progress"] == 1.0, job
        result = job["result"]
        assert [f["frame"] for f in result["frames"]] == [0, 3, 6, 9]  # the run's stride is 3
        assert len(result["top"]) == 5 and {t["label"] for t in result["top"]} <= set(CLASSES)
        assert abs(sum(result["frames"][-1]["probs"]) - 1) < 1e-3
        assert client.get(f"/jobs/{job['id']}/video").headers["content-type"] == "video/webm"
        sample = client.post("/samples/jobs", params={"name": client.get("/samples").json()[0]})
        assert sample.status_code == 202 and wait_done(client, sample.json()["id"])["status"] == "done"
    with TestClient(create_app(settings)) as client:  # a restart keeps the result
        assert client.get(f"/jobs/{job['id']}").json()["result"] == result


def test_jobs_accepted_before_a_stop_run_after_the_restart(settings, tmp_path):
    store = JobStore(f"{settings.data_dir}/jobs")
    job_id, folder = store.new_folder()
    small_video(folder / "upload.avi")
    store.add(job_id, "left.avi", folder / "upload.avi")  # accepted, never run: the server stopped
    store.update(job_id, status="running", progress=0.5)
    with TestClient(create_app(settings)) as client:
        assert wait_done(client, job_id)["status"] == "done"


def test_limits_answer_with_the_reason(settings, tmp_path):
    video = small_video(tmp_path / "clip.avi").read_bytes()
    with TestClient(create_app(settings)) as client:
        too_big = client.post("/jobs", files={"file": ("big.mp4", b"\0" * 300_000, "video/mp4")})
        assert too_big.status_code == 413 and "limit" in too_big.json()["detail"]
        text = client.post("/jobs", files={"file": ("notes.txt", b"hello", "text/plain")})
        assert text.status_code == 415 and "notes.txt" in text.json()["detail"]
        corrupt = client.post("/jobs", files={"file": ("broken.mp4", b"not a video at all" * 50, "video/mp4")})
        assert corrupt.status_code == 422 and "broken.mp4: not a decodable video" in corrupt.json()["detail"]
        truncated = client.post("/jobs", files={"file": ("cut.avi", video[: len(video) // 3], "video/x-msvideo")})
        assert truncated.status_code in (202, 422)  # a cut file may still decode its first frames
        assert client.get("/healthz").status_code == 200  # still alive
        client.app.state.service.settings.max_active_jobs = 0
        busy = client.post("/jobs", files={"file": ("clip.avi", video, "video/x-msvideo")})
        assert busy.status_code == 429 and busy.headers["retry-after"] == "5"


def test_a_box_is_refused_with_the_fix_when_the_tracker_would_read_no_appearance(settings, tmp_path):
    video = small_video(tmp_path / "clip.avi").read_bytes()
    with TestClient(create_app(settings)) as client:  # the demo classifier, no --track-ckpt
        response = client.post("/jobs", files={"file": ("clip.avi", video, "video/x-msvideo")}, data={"box": "2,2,8,8"})
        assert response.status_code == 422 and "its own: --track-ckpt" in response.json()["detail"]
        assert client.get("/samples").json() == ["moving/a.avi"]
        assert client.post("/samples/jobs?name=moving/a.avi&box=2,2,8,8").status_code == 422
        with client.websocket_connect("/ws/stream?box=2,2,8,8") as ws:
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
        assert closed.value.code == 1008 and "--track-ckpt" in closed.value.reason
        assert client.post("/jobs", files={"file": ("clip.avi", video, "video/x-msvideo")}).status_code == 202


def test_websocket_streams_frames_with_state_per_connection(settings):
    rng = np.random.default_rng(0)
    frames = []
    for _ in range(3):
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(buffer, "PNG")
        frames.append(buffer.getvalue())
    with TestClient(create_app(settings)) as client:
        replies = []
        with client.websocket_connect("/ws/stream") as ws:
            for frame in frames:
                ws.send_bytes(frame)
                replies.append(ws.receive_json())
            ws.send_bytes(b"garbage")
            assert "not an image" in ws.receive_json()["error"]
            ws.send_text("reset")
            assert ws.receive_json() == {"reset": True}
            ws.send_bytes(frames[0])
            again = ws.receive_json()
        with client.websocket_connect("/ws/stream") as other:  # a new connection starts from a zero state
            other.send_bytes(frames[0])
            fresh = other.receive_json()
    assert [r["frame"] for r in replies] == [0, 1, 2] and replies[0]["top"][0]["label"] in CLASSES
    assert again["top"] == replies[0]["top"] == fresh["top"]
    assert replies[2]["top"] != replies[0]["top"]  # the carried state changes the answer


def test_jobs_and_the_websocket_carry_anomaly_scores_and_boxes(tmp_path, checkpoint):
    """serve --anomaly: every frame's score (the offline one); a job or connection with a box: a box per frame,
    from the tracker encoder of --track-ckpt (the demo classifier reads normal flow)."""
    from tests.serving_helpers import NEXT_STEP, fitted_scorer, rgb_encoder_checkpoint

    scorer = fitted_scorer(tmp_path / "anomaly", NEXT_STEP)
    tracker = str(rgb_encoder_checkpoint(tmp_path / "rgb.ckpt"))
    settings = Settings(str(checkpoint), data_dir=str(tmp_path / "serve"), anomaly=str(scorer))
    settings.track_checkpoint = tracker
    video = small_video(tmp_path / "clip.avi", num_frames=12)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json()["anomaly"] == str(scorer)
        files = {"file": ("clip.avi", video.read_bytes(), "video/x-msvideo")}
        assert client.post("/jobs", files=files, data={"box": "2,10,16"}).status_code == 422
        response = client.post("/jobs", files=files, data={"box": "2,10,16,16"})
        result = wait_done(client, response.json()["id"])["result"]
        assert len(result["anomaly"]) == 12 and len(result["boxes"]) == 12 and result["boxes"][0] == [2, 10, 16, 16]
        assert [f["frame"] for f in result["frames"]] == [0, 3, 6, 9] and (result["width"], result["height"]) == (
            64,
            48,
        )
        with client.websocket_connect("/ws/stream?box=2,10,16,16") as ws:
            replies = []
            for t in range(4):
                image = io.BytesIO()
                Image.fromarray(np.full((48, 64, 3), 40 * t, np.uint8)).save(image, "PNG")
                ws.send_bytes(image.getvalue())
                replies.append(ws.receive_json())
        assert replies[0]["box"] == [2, 10, 16, 16] and all(len(r["box"]) == 4 for r in replies)
        assert [r["anomaly"] for r in replies[:2]] == [[], []] and replies[2]["anomaly"][0][0] == 0  # 2 frames late
        assert "top" in replies[0] and "top" not in replies[1]  # classified every 3rd frame (the run's stride)
