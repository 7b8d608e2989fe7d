"""A real server (Daphne, its own SQLite database) and a real Chromium with a fake camera showing real faces."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
FER_CSV = ROOT.parent / "shared" / "data" / "fer2013" / "fer2013_train_publictest.csv.gz"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FRAME_WIDTH, FRAME_HEIGHT = 640, 480

pytestmark = pytest.mark.e2e


def write_y4m(path: Path, frames: list[np.ndarray], *, fps: int = 25) -> None:
    """Write grey frames as a 4:2:0 Y4M video, the format Chromium's fake camera reads."""
    chroma = np.full((FRAME_HEIGHT // 2, FRAME_WIDTH // 2), 128, dtype=np.uint8).tobytes()
    with path.open("wb") as handle:
        handle.write(f"YUV4MPEG2 W{FRAME_WIDTH} H{FRAME_HEIGHT} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            handle.write(b"FRAME\n" + frame.astype(np.uint8).tobytes() + chroma + chroma)


@pytest.fixture(scope="session")
def fake_camera_video(tmp_path_factory) -> Path:
    """Two seconds of real FER2013 faces, each scaled to 260 px in a 640x480 frame; only faces the detector finds."""
    if not FER_CSV.exists():
        pytest.skip(f"FER2013 is not at {FER_CSV}")
    import cv2

    from inference.datasets import load_faces
    from inference.faces import detect_faces

    faces = load_faces(FER_CSV, usage="PublicTest", limit=200)
    frames = []
    for face in faces.images:
        frame = np.full((FRAME_HEIGHT, FRAME_WIDTH), 100, dtype=np.uint8)
        large = cv2.resize(face[:, :, 0], (260, 260), interpolation=cv2.INTER_CUBIC)
        frame[110:370, 190:450] = large
        if detect_faces(frame):
            frames.extend([frame] * 10)
        if len(frames) >= 50:
            break
    path = tmp_path_factory.mktemp("camera") / "faces.y4m"
    write_y4m(path, frames)
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """A Daphne process serving the project on its own database, restartable on the same port."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The server keeps its own SQLite database; a Redis channel layer, when configured, is kept.
        dropped = ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
        inherited = {key: value for key, value in os.environ.items() if key not in dropped}
        self.env = {
            **inherited,
            "SECRET_KEY": "e2e-secret",
            "DEBUG": "0",
            "DATA_DIR": str(data_dir),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
        }
        self.process: subprocess.Popen | None = None

    def manage(self, *arguments: str) -> str:
        command = [sys.executable, "manage.py", *arguments]
        result = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def migrated(self, template: Path) -> None:
        """Start from a copy of ``template`` (a database ``migrate`` made): the same tables, without its 5 s."""
        database = Path(self.env["DATA_DIR"]) / "db.sqlite3"
        database.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal"):  # the write-ahead log, should SQLite have left one
            if Path(f"{template}{suffix}").exists():
                shutil.copyfile(f"{template}{suffix}", f"{database}{suffix}")

    def python(self, code: str) -> object:
        """Run ORM code in the server's database; the last line printed is parsed as JSON."""
        return json.loads(self.manage("shell", "-c", code).strip().splitlines()[-1])

    def start(self) -> None:
        self.process = subprocess.Popen(
            # As the README serves it: Daphne with the websocket limit the capture protocol needs.
            [sys.executable, "manage.py", "serve", "-b", "127.0.0.1", "-p", str(self.port)],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("daphne did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def demo(server: Server) -> tuple[str, str, str]:
    """The demo screening's organizer login and a personal link, from one ``load_demo``."""
    output = server.manage("load_demo", "--base-url", server.url)
    login = re.search(r"user (\S+)\s+password (\S+)", output)
    link = re.search(r"A personal link:\s+(\S+)", output)
    assert login and link, output
    return login.group(1), login.group(2), link.group(1)


# Python run in a seeded server's database: one viewer's probabilities with ``happy`` and the rest alike.
SEED_PROBABILITIES = """
def emotions_with(happy):
    rest = (1 - happy) / 6
    return dict.fromkeys(["angry", "disgust", "fear", "sad", "surprise", "neutral"], rest) | {"happy": happy}
"""


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory) -> Path:
    """A SQLite database ``migrate`` made, once per run, for each server to start from a copy of."""
    server = Server(tmp_path_factory.mktemp("migrated"))
    server.manage("migrate", "--noinput")
    return Path(server.env["DATA_DIR"]) / "db.sqlite3"


def seeded_demo_server(
    data_dir: Path, seed: str, migrated_database: Path
) -> Iterator[tuple[Server, tuple[str, str], object]]:
    """For a module's fixture: a started server with the demo screening, then ``seed`` run in its database
    (with ``SEED_PROBABILITIES``; it prints JSON); yields the server, the organizer's login and what
    the seed printed, and stops the server after."""
    running = Server(data_dir)
    running.migrated(migrated_database)
    username, password, _ = demo(running)
    seeded = running.python(SEED_PROBABILITIES + seed)
    running.start()
    yield running, (username, password), seeded
    running.stop()


@pytest.fixture
def server(tmp_path, migrated_database) -> Iterator[Server]:
    running = Server(tmp_path / "data")
    running.migrated(migrated_database)
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def no_face_camera_video(tmp_path_factory) -> Path:
    """Two seconds of an empty room: a wall lit from one side, with no face anywhere."""
    wall = np.tile(np.linspace(70, 150, FRAME_WIDTH, dtype=np.float32), (FRAME_HEIGHT, 1))
    path = tmp_path_factory.mktemp("camera") / "no-face.y4m"
    write_y4m(path, [wall] * 50)
    return path


@pytest.fixture
def chromium():  # type: ignore[no-untyped-def]
    """Launch Chromium with a fake camera that plays the given video: ``chromium(camera_video)``."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = []

        def launch(camera_video: Path):  # type: ignore[no-untyped-def]
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                    f"--use-file-for-fake-video-capture={camera_video}", "--autoplay-policy=no-user-gesture-required",
                ],
            )  # fmt: skip
            launched.append(browser)
            return browser

        yield launch
        for browser in launched:
            browser.close()


@pytest.fixture
def browser(chromium, fake_camera_video):  # type: ignore[no-untyped-def]
    """Chromium whose fake camera shows real faces."""
    return chromium(fake_camera_video)
