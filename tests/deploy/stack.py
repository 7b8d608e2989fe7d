"""The deployed site as deploy/ describes it, started for real: nginx in front of Daphne processes and a
media worker, on PostgreSQL and Redis.

Everything is read from the committed files: nginx runs deploy/nginx/reactionsite.conf with the
test's ports and paths put in place of the example's, the processes run the ``ExecStart`` of
deploy/systemd/'s units, and their environment is deploy/reactionsite.env.example with the test's
values for what names this machine (database, Redis, addresses, folders).
"""

from __future__ import annotations

import getpass
import json
import os
import re
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
NGINX = Path("/usr/sbin/nginx")
REDIS_SERVER = Path("/usr/bin/redis-server")
HOST = "localhost"
STARTUP_SECONDS = 90


def manage(env: dict[str, str], *arguments: str) -> str:
    """``manage.py`` with ``env``; what it printed (a failure fails the test with its output)."""
    command = [sys.executable, "manage.py", *arguments]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, *, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on port {port}:\n{log.read_text(errors='replace')}")


def example_environment() -> dict[str, str]:
    """deploy/reactionsite.env.example as systemd's EnvironmentFile= reads it: KEY=VALUE lines, # comments."""
    variables = {}
    for line in (DEPLOY / "reactionsite.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            variables[key.strip()] = value.strip()
    return variables


def unit_command(unit: str, instance: str) -> list[str]:
    """The ``ExecStart`` of one of deploy/systemd/'s template units for ``instance``, run from this checkout."""
    text = (DEPLOY / "systemd" / unit).read_text()
    exec_start = re.search(r"^ExecStart=(.+)$", text, re.MULTILINE)
    working_directory = re.search(r"^WorkingDirectory=(.+)$", text, re.MULTILINE)
    assert exec_start and working_directory, f"{unit} has no ExecStart or WorkingDirectory"
    command = shlex.split(exec_start.group(1).replace("%i", instance))
    # The unit's virtual environment is this test run's interpreter, its working directory the checkout.
    assert command[0] == f"{working_directory.group(1)}/.venv/bin/python", command
    return [sys.executable, *command[1:]]


class Process:
    """A long-running process of the stack, with its output in a log file; killed, stopped and started again."""

    def __init__(self, name: str, command: list[str], *, env: dict[str, str], folder: Path, port: int | None) -> None:
        self.name, self.command, self.env, self.port = name, command, env, port
        self.log = folder / f"{name}.log"
        self.process: subprocess.Popen | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=output, stderr=output)

    def wait_until_listening(self) -> None:
        assert self.process is not None and self.port is not None
        wait_for_port(self.port, process=self.process, log=self.log)

    def kill(self) -> int:
        """SIGKILL, as a crash or the out-of-memory killer would: nothing is cleaned up."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        return self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.running:
            assert self.process is not None
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for localhost, valid for a day; browsers and clients in the tests accept it knowingly."""
    certificate, key = folder / "localhost.pem", folder / "localhost-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={HOST}",
         "-addext", f"subjectAltName=DNS:{HOST}", "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True,
    )  # fmt: skip
    return certificate, key


def nginx_site(
    *, web_ports: list[int], https_port: int, http_port: int, static_root: Path, tls: tuple[Path, Path]
) -> str:
    """deploy/nginx/reactionsite.conf with this test's addresses, ports, certificate and static folder.

    Each example value must be found where the deploy file has it: a change to the file that this
    rendering no longer fits fails here, rather than the test running some other configuration.
    """
    text = (DEPLOY / "nginx" / "reactionsite.conf").read_text()
    certificate, key = tls
    replacements = {
        "    server 127.0.0.1:8001;\n    server 127.0.0.1:8002;\n": "".join(
            f"    server 127.0.0.1:{port};\n" for port in web_ports
        ),
        "    listen 80;\n": f"    listen 127.0.0.1:{http_port};\n",
        "    listen 443 ssl;\n": f"    listen 127.0.0.1:{https_port} ssl;\n",
        # IPv6 may be missing where the tests run; the IPv4 listeners are the ones the test reaches.
        "    listen [::]:80;\n": "",
        "    listen [::]:443 ssl;\n": "",
        "server_name study.example.org;": f"server_name {HOST};",
        "/etc/letsencrypt/live/study.example.org/fullchain.pem": str(certificate),
        "/etc/letsencrypt/live/study.example.org/privkey.pem": str(key),
        "alias /srv/reactionsite/var/static/;": f"alias {static_root}/;",
    }
    for example, value in replacements.items():
        count = 2 if example.startswith("server_name") else 1
        assert text.count(example) == count, f"deploy/nginx/reactionsite.conf changed: {example!r} not found"
        text = text.replace(example, value)
    return text


class Nginx:
    """Debian's nginx, unprivileged in its own folder: the deploy config inside a minimal main configuration."""

    def __init__(self, folder: Path, site: str, *, https_port: int, http_port: int) -> None:
        self.folder, self.https_port, self.http_port = folder, https_port, http_port
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "reactionsite.conf").write_text(site)
        temp_paths = "\n".join(
            f"    {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        # Run as root (as in some containers), nginx would hand its workers to "nobody", who cannot
        # read this user's private folders; as anyone else it stays who it is and ignores `user`.
        user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""
        (folder / "nginx.conf").write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\n"
            f"error_log {folder / 'error.log'} warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
            f"    access_log {folder / 'access.log'};\n{temp_paths}\n"
            f"    include {folder / 'reactionsite.conf'};\n}}\n"
        )
        arguments = ["-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(folder / "error.log")]
        checked = subprocess.run([str(NGINX), "-t", *arguments], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        self.process = Process("nginx", [str(NGINX), *arguments], env=dict(os.environ), folder=folder, port=https_port)

    def start(self) -> None:
        self.process.start()
        self.process.wait_until_listening()

    def stop(self) -> None:
        self.process.stop()

    def error_log(self) -> str:
        path = self.folder / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


class OwnRedis:
    """A Redis server of the test's own on a port of its own, with nothing kept on disk: a restart empties it."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        command = [str(REDIS_SERVER), "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no"]
        folder.mkdir(parents=True, exist_ok=True)
        self.process = Process("redis", command, env=dict(os.environ), folder=folder, port=self.port)

    def start(self) -> None:
        self.process.start()
        self.process.wait_until_listening()

    def stop(self) -> None:
        self.process.stop()


def redis_database(url: str, number: int) -> str:
    return urlsplit(url)._replace(path=f"/{number}").geturl()


class Stack:
    """nginx on ``https_port`` in front of ``web`` Daphne processes; ``worker`` when a media worker runs."""

    def __init__(self, folder: Path, *, database_url: str, redis_url: str, web_processes: int = 2) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.https_port, self.http_port = free_port(), free_port()
        self.url = f"https://{HOST}:{self.https_port}"
        self.ws_url = f"wss://{HOST}:{self.https_port}"
        self.data_dir = folder / "data"
        self.env = {
            **{key: value for key, value in os.environ.items() if key not in ("DJANGO_SETTINGS_MODULE",)},
            **example_environment(),
            # What names this machine; everything else is the example's.
            "SECRET_KEY": "deploy-test-secret-key",
            "ALLOWED_HOSTS": HOST,
            "CSRF_TRUSTED_ORIGINS": self.url,
            "PUBLIC_BASE_URL": self.url,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "DATA_DIR": str(self.data_dir),
            "MEDIA_ROOT": str(self.data_dir / "media"),
            "PYTHONUNBUFFERED": "1",
        }
        self.certificate, key = self_signed_certificate(folder)
        web_ports = [free_port() for _ in range(web_processes)]
        self.web = [
            Process(f"web-{port}", unit_command("reactionsite-web@.service", str(port)), env=self.env,
                    folder=folder, port=port)
            for port in web_ports
        ]  # fmt: skip
        self.worker: Process | None = None
        site = nginx_site(
            web_ports=web_ports,
            https_port=self.https_port,
            http_port=self.http_port,
            static_root=self.data_dir / "static",
            tls=(self.certificate, key),
        )
        self.nginx = Nginx(folder / "nginx", site, https_port=self.https_port, http_port=self.http_port)

    def manage(self, *arguments: str) -> str:
        return manage(self.env, *arguments)

    def tls(self) -> ssl.SSLContext:
        """A client context that trusts this stack's certificate (and checks it is for localhost)."""
        return ssl.create_default_context(cafile=str(self.certificate))

    def call(self, function: str, **arguments: object) -> object:
        """One of tests/deploy/site_data.py's functions, run in the stack's database; what it returned (JSON)."""
        code = (
            f"import json; from tests.deploy.site_data import {function}; "
            f"print(json.dumps({function}(**{arguments!r})))"
        )
        return json.loads(self.manage("shell", "--verbosity", "0", "-c", code).strip().splitlines()[-1])

    def start(self, *, worker: bool = False) -> None:
        # As a release does it (README, "Scaling out"): the static files collected for nginx.
        self.manage("collectstatic", "--noinput", "--verbosity", "0")
        for process in self.web:
            process.start()
        if worker:
            self.worker = Process("worker-1", unit_command("reactionsite-worker@.service", "1"), env=self.env,
                                  folder=self.folder, port=None)  # fmt: skip
            self.worker.start()
        for process in self.web:
            process.wait_until_listening()
        self.nginx.start()

    def restart_stopped(self) -> None:
        """Start again the web processes a test killed, as systemd's Restart=always would."""
        stopped = [process for process in self.web if not process.running]
        for process in stopped:
            process.start()
        for process in stopped:
            process.wait_until_listening()

    def stop(self) -> None:
        self.nginx.stop()
        for process in [*self.web, *([self.worker] if self.worker else [])]:
            process.stop()

    def logs(self) -> str:
        """Every process's output, for a failing assertion's message."""
        parts = [f"== {process.name} ==\n{process.output()[-4000:]}" for process in self.web]
        if self.worker:
            parts.append(f"== worker ==\n{self.worker.output()[-4000:]}")
        parts.append(f"== nginx error.log ==\n{self.nginx.error_log()[-4000:]}")
        return "\n".join(parts)
