"""Accounts: `assistant user add|password|remove|list`, Argon2id hashes in a 0600 file, the audit log."""
import json
import subprocess
import sys

import pytest
from conftest import ROOT

from assistant.state.audit import AuditLog
from assistant.state.users import UserError, UserStore, file_mode

PASSWORD = "korrekt-hest-batteri"


def cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "assistant.cli", "user", *args], input=stdin,
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_cli_adds_lists_and_removes_users_with_hashed_passwords_in_a_private_file(tmp_path):
    data = tmp_path / "data"
    out = cli("add", "Hanne", "--role", "admin", "--password-stdin", "--data", str(data), stdin=PASSWORD + "\n")
    assert out.returncode == 0, out.stderr
    assert cli("add", "ole", "--password-stdin", "--data", str(data), stdin=PASSWORD + "2\n").returncode == 0
    users = data / "users.json"
    assert file_mode(users) == 0o600
    raw = users.read_text(encoding="utf-8")
    assert PASSWORD not in raw
    stored = json.loads(raw)["users"]
    assert stored["hanne"]["hash"].startswith("$argon2id$") and stored["hanne"]["role"] == "admin"
    assert stored["ole"]["role"] == "staff"                     # the default role
    assert cli("list", "--data", str(data)).stdout.split("\n")[:2] == ["hanne\tadmin", "ole\tstaff"]

    store = UserStore(data)
    assert store.verify("hanne", PASSWORD).admin
    assert store.verify("HANNE", PASSWORD).name == "hanne"       # names are case-insensitive
    assert store.verify("hanne", PASSWORD + "x") is None
    assert store.verify("ingen", PASSWORD) is None
    assert store.verify("ole", PASSWORD + "2").reads_internal and not store.get("ole").admin

    assert cli("remove", "ole", "--data", str(data)).returncode == 0
    assert store.get("ole") is None and store.verify("ole", PASSWORD + "2") is None
    assert file_mode(users) == 0o600
    actions = [(e["user"].split(":")[0], e["action"], e["details"]["name"]) for e in AuditLog(data).entries()]
    assert actions == [("cli", "user_add", "hanne"), ("cli", "user_add", "ole"), ("cli", "user_remove", "ole")]
    assert file_mode(data / "audit.jsonl") == 0o600


def test_no_default_password_and_bad_input_is_refused_with_a_reason(tmp_path):
    data = tmp_path / "data"
    out = cli("add", "hanne", "--data", str(data), stdin="")   # no terminal, no --password-stdin
    assert out.returncode == 2 and "--password-stdin" in out.stderr and not (data / "users.json").exists()
    out = cli("add", "hanne", "--password-stdin", "--data", str(data), stdin="kort\n")
    assert out.returncode == 2 and "at least 10 characters" in out.stderr
    out = cli("add", "../etc", "--password-stdin", "--data", str(data), stdin=PASSWORD + "\n")
    assert out.returncode == 2 and "user name" in out.stderr
    out = cli("add", "hanne", "--role", "root", "--password-stdin", "--data", str(data), stdin=PASSWORD + "\n")
    assert out.returncode == 2 and "invalid choice" in out.stderr
    assert cli("add", "hanne", "--password-stdin", "--data", str(data), stdin=PASSWORD + "\n").returncode == 0
    out = cli("add", "hanne", "--password-stdin", "--data", str(data), stdin=PASSWORD + "\n")
    assert out.returncode == 2 and "exists" in out.stderr
    out = cli("remove", "nobody", "--data", str(data))
    assert out.returncode == 2 and "no user 'nobody'" in out.stderr


def test_password_change_and_a_world_readable_file_is_made_private(tmp_path):
    store = UserStore(tmp_path)
    store.add("hanne", PASSWORD, "staff")
    store.set_password("hanne", "et-helt-andet-kodeord")
    assert store.verify("hanne", PASSWORD) is None and store.verify("hanne", "et-helt-andet-kodeord")
    store.path.chmod(0o644)
    assert UserStore(tmp_path).get("hanne") is not None and file_mode(store.path) == 0o600
    with pytest.raises(UserError, match="at most 1024"):
        store.add("lang", "x" * 2000)


@pytest.mark.parametrize("password", ["aaaaaaaaaa", "1234567890", "password12", "hanneshanne", "qwertyuiop1"])
def test_easily_guessed_passwords_and_the_user_name_are_refused_with_a_reason(tmp_path, password):
    store = UserStore(tmp_path / "data")
    with pytest.raises(UserError, match="easy to guess|user name"):
        store.add("hanne", password)
    out = cli("add", "hanne", "--password-stdin", "--data", str(tmp_path / "data"), stdin=password + "\n")
    assert out.returncode != 0 and "password" in out.stderr and not (tmp_path / "data" / "users.json").exists()
    store.add("hanne", PASSWORD)
    with pytest.raises(UserError):
        store.set_password("hanne", password)
    assert store.verify("hanne", PASSWORD)


def test_a_running_server_sets_a_loosened_users_file_back_to_private(tmp_path):
    import os
    store = UserStore(tmp_path / "data")
    store.add("hanne", PASSWORD)
    assert store.get("hanne")                        # read once: cached
    os.chmod(store.path, 0o644)                      # contents unchanged, only the mode
    assert store.get("hanne") and file_mode(store.path) == 0o600

