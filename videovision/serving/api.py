"""The HTTP API and web page (FastAPI, served by uvicorn).

- ``POST /jobs`` (multipart field ``file``, optional field ``box=x,y,w,h``: a first-frame box to track): a video
  upload becomes a job (202); ``GET /jobs/{id}``: its status, progress and, when done, its result (top classes,
  per-frame probabilities, per-frame anomaly scores when the server has a scorer, per-frame boxes when the job
  has a box); results live on disk (:mod:`videovision.serving.jobs`). ``GET /samples`` and
  ``POST /samples/jobs?name=[&box=]``: the same for a sample video the server has.
- ``WS /ws/stream[?box=x,y,w,h]``: frame-by-frame streaming; the client sends images (JPEG/PNG bytes), the server
  answers each with what the session gives (:class:`~videovision.serving.session.Session`: top classes, anomaly
  scores, the box), carrying every state per connection (``"reset"`` starts again).
- ``GET /healthz``, ``GET /openapi.json`` (and ``/docs``), ``GET /``: the web page.

Limits: an upload over ``max_upload_mb`` is refused with 413, a file that is no video (by its name) with
415, one that does not decode with 422 (the reason in ``detail``), and a new job while ``max_active_jobs``
are queued or running with 429. Bad input fails its request or its job, never the server.
The model is loaded once, in the lifespan, and handed to the endpoints through dependencies
(FastAPI's "Dependencies" and "Lifespan Events" docs).
"""

from __future__ import annotations

import io
import json
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
from fastapi import Depends, FastAPI, Form, HTTPException, Request, UploadFile, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse
from PIL import Image, UnidentifiedImageError

from data_modules.video_io import VideoDecodeError, probe_video

from ..tracking.features import encoder_from_checkpoint
from .analysis import analyse_video, write_preview
from .anomaly import ServedScorer
from .jobs import JobRunner, JobStore
from .model import load_classifier
from .session import Analysers, Box, Session, parse_box
from .stream import scaled_size

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".ogv")
PAGE = Path(__file__).parent / "static" / "index.html"
OPTIONS = "options.json"  # a job's options (its first-frame box), beside its upload
_CHUNK = 1 << 20


@dataclass
class Settings:
    """What the server serves and its limits."""

    checkpoint: str
    config: str | None = None  # the classifier's run config; None: the one saved in the checkpoint
    data_dir: str = "runs/serve"
    runtime: str = "eager"
    export_dir: str = "runs/export"
    samples_dir: str | None = None
    max_upload_mb: float = 50.0
    max_active_jobs: int = 4
    top_k: int = 5
    anomaly: str | None = None  # a fitted scorer (anomaly fit's scorer.pt)
    track_checkpoint: str | None = None  # the box tracker's encoder (a run on RGB frames); None: the classifier's


class Service:
    """Everything the endpoints share, made once by the lifespan."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        served = load_classifier(settings.checkpoint, settings.config)
        anomaly = ServedScorer(settings.anomaly) if settings.anomaly else None
        tracker = encoder_from_checkpoint(settings.track_checkpoint) if settings.track_checkpoint else None
        self.analysers = Analysers(
            served, settings.runtime, settings.export_dir, anomaly, settings.top_k, tracker_encoder=tracker
        )
        self.store = JobStore(Path(settings.data_dir) / "jobs")
        self.runner = JobRunner(self.store, self._work)
        self.analysers.new_step()  # with the onnx runtime, exports now (once) when the export is missing or stale
        self.started = time.time()

    def _work(self, job_id: str, progress) -> dict:
        job, folder = self.store.get(job_id), self.store.folder(job_id)
        video = folder / job["video"]
        meta = probe_video(str(video))
        options = json.loads((folder / OPTIONS).read_text()) if (folder / OPTIONS).is_file() else {}
        size = (meta.width, meta.height)
        result = analyse_video(video, self.analysers, meta.num_frames, size, options.get("box"), progress, meta.fps)
        write_preview(video, folder / "preview.webm")
        return {**result, "fps": meta.fps, "num_frames": meta.num_frames, "width": meta.width, "height": meta.height}

    def samples(self) -> list[str]:
        root = self.settings.samples_dir
        if not root or not Path(root).is_dir():
            return []
        files = sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
        first = {p.parent: p for p in reversed(files)}  # one per folder (per class in a UCF101 layout)
        return sorted(str(p.relative_to(root)) for p in first.values())[:24]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    service = Service(app.state.settings)
    app.state.service = service
    service.runner.resume()
    yield
    service.runner.shutdown()


def get_service(request: Request) -> Service:
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(get_service)]


def create_app(settings: Settings) -> FastAPI:
    """The app; the model loads when it starts (uvicorn, or ``with TestClient(app)``)."""
    app = FastAPI(title="VideoVision", summary="Action recognition on videos and live streams", lifespan=lifespan)
    app.state.settings = settings

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        return PAGE.read_text()

    @app.get("/healthz")
    def healthz(service: ServiceDep) -> dict:
        served = service.analysers.served
        return {
            "status": "ok",
            "checkpoint": served.checkpoint,
            "classes": served.classes,
            "runtime": service.settings.runtime,
            "anomaly": service.settings.anomaly,
            "active_jobs": len(service.store.active()),
            "uptime_s": round(time.time() - service.started, 1),
        }

    @app.post("/jobs", status_code=202)
    async def upload(
        request: Request, file: UploadFile, service: ServiceDep, box: Annotated[str | None, Form()] = None
    ) -> dict:
        """Upload a video (multipart field ``file``; ``box=x,y,w,h`` tracks that first-frame box); returns the job
        to poll at ``/jobs/{id}``."""
        _check_capacity(service)
        first_box = _box(box, service)
        limit = int(service.settings.max_upload_mb * 1e6)
        declared = int(request.headers.get("content-length") or 0)
        if declared > limit + 64 * 1024:  # multipart overhead allowed
            raise HTTPException(413, f"upload of {declared} bytes exceeds the limit of {limit} bytes")
        suffix = Path(file.filename or "").suffix.lower()
        if suffix not in VIDEO_SUFFIXES:
            raise HTTPException(415, f"{file.filename!r} is not a supported video type (one of {VIDEO_SUFFIXES})")
        job_id, folder = service.store.new_folder()
        video = folder / f"upload{suffix}"
        try:
            size = 0
            with video.open("wb") as out:
                while chunk := await file.read(_CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise HTTPException(413, f"upload exceeds the limit of {limit} bytes")
                    out.write(chunk)
            return await run_in_threadpool(_accept, service, job_id, file.filename or video.name, video, first_box)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    @app.get("/samples")
    def samples(service: ServiceDep) -> list[str]:
        return service.samples()

    @app.post("/samples/jobs", status_code=202)
    def sample_job(name: str, service: ServiceDep, box: str | None = None) -> dict:
        """A job for the sample video ``name`` (one of ``GET /samples``), tracking ``box`` (x,y,w,h) if given."""
        if name not in service.samples():
            raise HTTPException(404, f"no sample named {name!r}")
        _check_capacity(service)
        first_box = _box(box, service)
        job_id, folder = service.store.new_folder()
        video = folder / f"upload{Path(name).suffix.lower()}"
        shutil.copyfile(Path(service.settings.samples_dir) / name, video)
        return _accept(service, job_id, name, video, first_box)

    @app.get("/jobs")
    def jobs(service: ServiceDep) -> list[dict]:
        return service.store.list()

    @app.get("/jobs/{job_id}")
    def job(job_id: str, service: ServiceDep) -> dict:
        found = _job(service, job_id)
        return {**found, "result": service.store.result(job_id) if found["status"] == "done" else None}

    @app.get("/jobs/{job_id}/video")
    def job_video(job_id: str, service: ServiceDep) -> FileResponse:
        """The job's video as WebM (any browser plays it), once the job is done."""
        _job(service, job_id)
        preview = service.store.folder(job_id) / "preview.webm"
        if not preview.is_file():
            raise HTTPException(404, f"job {job_id} has no preview yet")
        return FileResponse(preview, media_type="video/webm")

    @app.websocket("/ws/stream")
    async def stream(websocket: WebSocket, box: str | None = None) -> None:
        """Send frames as image bytes (JPEG/PNG); each reply: ``{"frame", "top", "probs", "ms"}``, plus
        ``"anomaly"`` with a scorer and ``"box"`` with ``?box=x,y,w,h``; text ``reset`` starts again."""
        service: Service = websocket.app.state.service
        await websocket.accept()
        try:
            first_box = _first_box(box, service)
        except ValueError as exc:
            await websocket.close(code=1008, reason=str(exc))
            return
        session, count = None, 0
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("text") == "reset":
                    session, count = None, 0
                    await websocket.send_json({"reset": True})
                    continue
                if not message.get("bytes"):
                    await websocket.send_json({"error": "send frames as binary JPEG or PNG images, or 'reset'"})
                    continue
                try:
                    frame = await run_in_threadpool(_image, message["bytes"])
                except (UnidentifiedImageError, OSError, ValueError) as exc:
                    await websocket.send_json({"error": f"frame {count}: not an image ({exc})"})
                    continue
                if session is None:
                    session = service.analysers.session(first_box, (frame.shape[1], frame.shape[0]))
                reply = await run_in_threadpool(_stream_frame, service, session, count, frame, first_box)
                await websocket.send_json(reply)
                count += 1
        except WebSocketDisconnect:
            pass

    return app


def _check_capacity(service: Service) -> None:
    active = len(service.store.active())
    if active >= service.settings.max_active_jobs:
        raise HTTPException(
            429,
            f"{active} jobs are queued or running (the limit is {service.settings.max_active_jobs}); retry later",
            headers={"Retry-After": "5"},
        )


def _box(text: str | None, service: Service) -> Box | None:
    """The job's first-frame box, or 422 with the reason: not 4 numbers, or a server that cannot track."""
    try:
        return _first_box(text, service)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc


def _first_box(text: str | None, service: Service) -> Box | None:
    box = parse_box(text) if text else None
    if box is not None:
        service.analysers.check_tracker()
    return box


def _accept(service: Service, job_id: str, filename: str, video: Path, box: Box | None = None) -> dict:
    """Probe the stored upload (422 with the reason when it does not decode), then queue its job."""
    try:
        meta = probe_video(str(video))
    except VideoDecodeError as exc:
        raise HTTPException(422, f"{filename}: not a decodable video: {str(exc).split(': ', 1)[-1]}") from exc
    if box is not None:
        (video.parent / OPTIONS).write_text(json.dumps({"box": box}))
    job = service.store.add(job_id, filename, video)
    service.runner.submit(job_id)
    return {**job, "num_frames": meta.num_frames, "fps": meta.fps}


def _job(service: Service, job_id: str) -> dict:
    found = service.store.get(job_id)
    if found is None:
        raise HTTPException(404, f"no job {job_id}")
    return found


def _image(data: bytes) -> np.ndarray:
    """JPEG/PNG bytes -> uint8 (H, W, 3)."""
    with Image.open(io.BytesIO(data)) as image:
        return np.array(image.convert("RGB"))


def _stream_frame(service: Service, session: Session, count: int, frame: np.ndarray, box: Box | None) -> dict:
    width, height = scaled_size(frame.shape[1], frame.shape[0], service.analysers.short_side(box))
    resized = np.array(Image.fromarray(frame).resize((width, height)))
    start = time.perf_counter()
    out = session(count, resized)
    return {**out, "ms": round(1000 * (time.perf_counter() - start), 2)}
