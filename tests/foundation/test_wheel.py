"""The wheel installs anywhere: built from the checkout, installed into a fresh virtual environment
outside it, it runs the demo, the pipeline and the service, and installs nothing at the top level
but ``qauipsiz``."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests._serve import free_port
from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, **kw)
    assert r.returncode == 0, f"{cmd}\nstdout:\n{r.stdout[-3000:]}\nstderr:\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)])
    (whl,) = out.glob("qauipsiz-*.whl")
    return whl


def test_wheel_contents(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert tops == {"qauipsiz"}, tops
    for must in ("qauipsiz/hotspot/gistar.py", "qauipsiz/api/app.py", "qauipsiz/data/boundaries/cities.csv",
                 "qauipsiz/data/taxonomy/articles.csv", "qauipsiz/data/gazetteer/astana/meta.json",
                 "qauipsiz/data/streets/astana_streets.json", "qauipsiz/maps/vendor/leaflet/LICENSE",
                 "qauipsiz/api/static/vendor/swagger-ui/LICENSE", "qauipsiz/api/static/index.html",
                 "qauipsiz/cpted/norms/dori_iec_62676-4.csv", "qauipsiz/api/store/migrations/script.py.mako"):
        assert must in names, must
    assert not [n for n in names if n.startswith("qauipsiz/data/demo/")], "regenerable demo output shipped"


@pytest.mark.skipif(not IN_CI and not os.environ.get("QAUIPSIZ_TEST_WHEEL"),
                    reason="installs every dependency into a fresh venv; runs under CI=true or QAUIPSIZ_TEST_WHEEL=1")
def test_wheel_in_fresh_venv(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    py, cli = venv / "bin" / "python", venv / "bin" / "qauipsiz"
    _run([str(py), "-m", "pip", "install", "-q", str(wheel)])
    work = tmp_path / "work"  # outside the checkout: nothing of the repository is importable here
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DATABASE_URL")}
    env["QAUIPSIZ_DATA_DIR"] = str(work / "var")
    kw = {"cwd": work, "env": env}
    r = subprocess.run([str(py), "-c", "import api"], capture_output=True, text=True, **kw)
    assert r.returncode != 0 and "ModuleNotFoundError" in r.stderr
    r = _run([str(py), "-c", "import qauipsiz, qauipsiz.hotspot.gistar as g; print(qauipsiz.__version__, g.__file__)"],
             **kw)
    assert str(venv) in r.stdout and not r.stdout.startswith("0+unknown")
    _run([str(cli), "demo", "--out", "D"], **kw)
    _run([str(cli), "pipeline", "--demo", "D", "--out", "O"], **kw)
    assert any((work / "O").iterdir())
    port = free_port()
    proc = subprocess.Popen([str(cli), "serve", "--demo", "D", "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    try:
        deadline, body = time.monotonic() + 180, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/ready", timeout=5) as resp:
                    body = resp.read().decode()
                    break
            except OSError:
                time.sleep(1)
        assert body is not None, f"serve did not answer: {proc.poll()}"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:
            assert resp.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/vendor/leaflet/leaflet.js", timeout=10) as resp:
            assert resp.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
