"""The package as an association installs it (issue 15): a wheel built from the repository,
installed into a fresh virtual environment, runs `bourse migrate`, `seed-demo` and `serve` from
an empty directory and serves pages, static files, migrations and translations — none of it
found through the repository or the current directory.

The fresh environment gets the wheel alone (`--no-deps`); its dependencies are read from this
test's own environment through a path file, so the test needs no network and checks what the
wheel itself carries. That pip resolves the dependencies is pip's business.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import sysconfig
from pathlib import Path

import httpx

from app import PROJECT_ROOT


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_wheel_installs_and_serves_from_an_empty_directory(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--quiet",
        "--wheel-dir",
        wheels,
        PROJECT_ROOT,
        cwd=tmp_path,
    )
    [wheel] = wheels.glob("bourse-*.whl")

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel,
         cwd=tmp_path)  # fmt: skip
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                     cwd=tmp_path).strip())  # fmt: skip
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    # An empty directory, an environment without the test suite's settings.
    here = tmp_path / "association"
    here.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOURSE_", "PYTHON"))}
    env["BOURSE_ENV"] = "development"
    where = _run(
        python, "-c", "import app; print(app.__file__); print(app.RESOURCES)", cwd=here, env=env
    )
    module, resources = where.split()
    assert module.startswith(str(site)) and resources == str(site / "app" / "_resources")

    bourse = venv / "bin" / "bourse"
    _run(bourse, "migrate", cwd=here, env=env)
    assert (here / "data").is_dir()  # the data of the directory it runs in
    _run(bourse, "seed-demo", cwd=here, env=env)

    port = _free_port()
    server = subprocess.Popen(
        [str(bourse), "serve", "--port", str(port)],
        cwd=here,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        log = []
        assert server.stderr is not None
        for line in server.stderr:  # the server's own word that it listens, no fixed wait
            log.append(line)
            if "Uvicorn running on" in line:
                break
        else:
            raise AssertionError("the installed server did not start:\n" + "".join(log))
        base = f"http://127.0.0.1:{port}"
        home = httpx.get(base + "/", headers={"Accept-Language": "fr"}, timeout=10)
        assert home.status_code == 200 and '<html lang="fr">' in home.text
        assert "need-card" in home.text  # the demo's needs, read through the migrated schema
        css = httpx.get(base + "/static/css/app.css", timeout=10)
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert httpx.get(base + "/static/js/htmx.min.js", timeout=10).status_code == 200
        english = httpx.get(base + "/about", headers={"Accept-Language": "en"}, timeout=10)
        assert english.status_code == 200 and '<html lang="en">' in english.text
        assert "Sign in" in english.text or "Log in" in english.text
    finally:
        server.terminate()
        server.wait(timeout=20)
