"""A real nginx on 127.0.0.1 in its own prefix, for deploy/verify/rollback tests without the lab."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

CONF = """
daemon on;
pid {p}/nginx.pid;
error_log {p}/error.log;
worker_processes 1;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {p}/tmp/body;
    proxy_temp_path {p}/tmp/proxy;
    fastcgi_temp_path {p}/tmp/fastcgi;
    uwsgi_temp_path {p}/tmp/uwsgi;
    scgi_temp_path {p}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name {name};
        ssl_certificate {p}/ssl/fullchain.pem;
        ssl_certificate_key {p}/ssl/key.pem;
        location / {{ return 200 "ok\\n"; }}
    }}
}}
"""


class LocalNginx:
    def __init__(self, prefix: Path, name: str) -> None:
        self.prefix = prefix
        self.name = name
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        (prefix / "tmp").mkdir(parents=True, exist_ok=True)
        (prefix / "ssl").mkdir(parents=True, exist_ok=True)
        (prefix / "nginx.conf").write_text(CONF.format(p=prefix, port=self.port, name=name))

    @property
    def args(self) -> str:
        return f"-p {self.prefix} -c {self.prefix}/nginx.conf -e {self.prefix}/error.log"

    @property
    def test_command(self) -> str:
        return f"nginx -t -q {self.args}"

    @property
    def reload_command(self) -> str:
        return f"nginx -s reload {self.args}"

    @property
    def fullchain(self) -> Path:
        return self.prefix / "ssl" / "fullchain.pem"

    @property
    def key(self) -> Path:
        return self.prefix / "ssl" / "key.pem"

    def start(self) -> LocalNginx:
        subprocess.run(f"nginx {self.args}", shell=True, check=True)  # noqa: S602
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def stop(self) -> None:
        subprocess.run(f"nginx -s stop {self.args}", shell=True, check=False)  # noqa: S602
