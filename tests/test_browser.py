"""The web page end to end in headless Chromium (Debian's chromium + chromedriver, driven by Selenium):
upload a video, wait for the job, check the rendered predictions and timeline, stream Chromium's fake camera
over the WebSocket, save a screenshot."""

from __future__ import annotations

import shutil
import socket
import threading
import time

import pytest

from tests.serving_helpers import (
    CLASSES,
    NEXT_STEP,
    classifier_checkpoint,
    fitted_scorer,
    rgb_encoder_checkpoint,
    small_video,
)
from videovision.serving.api import Settings, create_app

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver (apt-get install; .ci/run)"
)


@pytest.fixture
def server(tmp_path):
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    checkpoint, scorer = classifier_checkpoint(tmp_path / "probe.ckpt"), fitted_scorer(tmp_path / "anomaly", NEXT_STEP)
    tracker = str(rgb_encoder_checkpoint(tmp_path / "rgb.ckpt"))
    settings = Settings(str(checkpoint), data_dir=str(tmp_path / "serve"), anomaly=str(scorer))
    settings.track_checkpoint = tracker
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not server.started and time.time() < deadline:
        time.sleep(0.1)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-extensions", "--window-size=1100,1000",
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def test_upload_shows_predictions_and_timeline(server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    video = small_video(tmp_path / "clip.avi", num_frames=24)
    browser.get(server)
    WebDriverWait(browser, 30).until(lambda d: "model ready" in d.find_element(By.ID, "health").text)
    browser.find_element(By.ID, "file").send_keys(str(video))
    browser.find_element(By.ID, "box").send_keys("2,10,16,16")
    browser.find_element(By.ID, "upload").click()
    WebDriverWait(browser, 90).until(lambda d: d.find_element(By.ID, "status").text in ("done", "failed", "refused"))
    assert browser.find_element(By.ID, "status").text == "done", browser.find_element(By.ID, "error").text
    items = browser.find_elements(By.CSS_SELECTOR, "#predictions li")
    assert len(items) == 5 and all(item.text.split()[0] in CLASSES for item in items)
    percents = [float(item.text.split()[1].rstrip("%")) for item in items]
    assert percents == sorted(percents, reverse=True) and 0 < percents[0] <= 100
    timeline = browser.find_element(By.ID, "timeline")
    assert timeline.get_attribute("data-frames") == "8"  # 24 frames at the run's stride of 3
    painted = browser.execute_script(
        "const c = document.getElementById('timeline');"
        "return c.getContext('2d').getImageData(0, 0, c.width, c.height).data.filter((v, i) => i % 4 == 3 && v).length;"
    )
    assert painted > 0
    assert browser.find_element(By.ID, "anomaly-timeline").get_attribute("data-frames") == "24"  # every frame
    assert browser.execute_script(PAINTED, "anomaly-timeline") > 0
    assert browser.find_element(By.ID, "overlay").get_attribute("data-box") == "2,10,16,16"  # frame 0's box
    assert browser.execute_script(PAINTED, "overlay") > 0
    browser.find_element(By.ID, "box").clear()
    browser.find_element(By.ID, "live-start").click()  # Chromium's fake camera, frames over the WebSocket
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#live-predictions li"))
    WebDriverWait(browser, 30).until(
        lambda d: int(d.find_element(By.ID, "live-status").text.split()[1].rstrip(",")) >= 3
    )
    browser.find_element(By.ID, "live-stop").click()
    screenshot = tmp_path / "page.png"
    assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 10_000
    print(f"screenshot: {screenshot}")


PAINTED = (
    "const c = document.getElementById(arguments[0]);"
    "return c.getContext('2d').getImageData(0, 0, c.width, c.height).data.filter((v, i) => i % 4 == 3 && v).length;"
)
