"""Issue 20.8: hostile or broken uploads get a 400 naming the file, never a 500 or a traceback."""
from __future__ import annotations

from tests.store.test_bad_files import BAD


def test_api_uploads_of_bad_files_are_400_never_500(client, headers, tmp_path):
    for name, make in sorted(BAD.items()):
        p = tmp_path / name
        make(p)
        r = client.post("/api/v1/cities/astana/incidents", headers=headers["admin"],
                        files={"file": (name, p.read_bytes())})
        assert r.status_code == 400, (name, r.status_code, r.text[:300])
        assert name in r.json()["detail"] and "Traceback" not in r.text
        assert str(tmp_path) not in r.text
    long = "x" * 300 + ".csv"
    r = client.post("/api/v1/cities/astana/incidents", headers=headers["admin"],
                    files={"file": (long, b"a;b\n1;2\n")})
    assert r.status_code == 400 and "cannot map" in r.json()["detail"], r.text[:300]
    r = client.post("/api/v1/review", headers=headers["planner"], files={"file": ("d.geojson", b"[" * 100_000)})
    assert r.status_code == 400 and "nested" in r.json()["detail"], r.text[:300]
