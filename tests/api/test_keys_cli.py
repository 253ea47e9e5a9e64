"""`qauipsiz keys`: a created key verifies with its role, is listed without the key, and revokes."""
import stat

from typer.testing import CliRunner

from qauipsiz.api.cli import app
from qauipsiz.api.store import Store


def test_keys_create_list_revoke(tmp_path):
    env = {"QAUIPSIZ_DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}"}
    r = CliRunner().invoke(app, ["keys", "create", "commander", "--label", "night shift",
                                 "--save", str(tmp_path / "k.key")], env=env)
    assert r.exit_code == 0, r.output
    key = r.output.strip()
    assert (tmp_path / "k.key").read_text().strip() == key
    assert stat.S_IMODE((tmp_path / "k.key").stat().st_mode) == 0o600
    store = Store(env["DATABASE_URL"])
    assert store.verify_api_key(key).role == "commander"
    listed = CliRunner().invoke(app, ["keys", "list"], env=env).output
    assert "commander" in listed and "night shift" in listed and key not in listed
    assert CliRunner().invoke(app, ["keys", "revoke", "1"], env=env).exit_code == 0
    assert store.verify_api_key(key) is None
    bad = CliRunner().invoke(app, ["keys", "create", "boss"], env=env)
    assert bad.exit_code != 0 and "unknown role" in bad.output
