"""A team's shared workspace through the CLI, as two people on two computers use it: two data
folders, one Chroma server behind Caddy (TLS, a token), real processes and real backends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from tests.cli.test_cli import cli
from tests.conftest import DATA
from tests.servers import ROOT


def _save_token(home, url: str, token: str) -> None:
    saved = subprocess.run([sys.executable, "-m", "desktop_app.cli", "server", "key", "--url", url],
                           cwd=ROOT, env={**os.environ, "DESKTOP_APP_HOME": str(home)},
                           input=token + "\n", capture_output=True, text=True, timeout=120)
    assert saved.returncode == 0, saved.stderr


@pytest.mark.integration
def test_two_people_share_a_workspace_through_the_cli(tmp_path, team_proxy):
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    name = f"team-{uuid.uuid4().hex[:6]}"
    shared = ["--shared", team_proxy.url, "--collection", name,
              "--ca-bundle", str(team_proxy.ca_bundle)]
    _save_token(alice, team_proxy.url, "not the token")
    refused = cli(alice, "workspace", "create", "Team", *shared)
    assert refused.returncode == 2 and "refused the token" in refused.stderr
    assert "Traceback" not in refused.stderr
    for home in (alice, bob):
        _save_token(home, team_proxy.url, team_proxy.token)
    created = cli(alice, "workspace", "create", "Team", *shared)
    assert created.returncode == 0 and f"shared on 127.0.0.1:{team_proxy.port}" in created.stdout
    added = cli(alice, "add", "Team", str(DATA / "word-processor-history.pdf"),
                str(DATA / "family-day.eml"))
    assert added.returncode == 0, added.stderr

    assert cli(bob, "workspace", "create", "Our docs", *shared).returncode == 0
    listed = json.loads(cli(bob, "workspace", "list", "--json").stdout)
    assert listed[0]["shared"] == {"url": team_proxy.url, "collection": name}
    found = cli(bob, "search", "Our docs", "petting zoo face painting", "--json", "--explain")
    assert found.returncode == 0, found.stderr
    assert "up to date with its server: 2 documents added" in found.stderr
    top = json.loads(found.stdout)["retrieved"][0]
    assert top["document"].endswith("family-day.eml") and "petting zoo" in top["text"]
    assert top["explain"]["keyword_rank"] == 1 and top["explain"]["dense_rank"] == 1
    docs = json.loads(cli(bob, "docs", "Our docs", "--json").stdout)
    assert sorted(d["status"] for d in docs) == ["indexed", "indexed"]
    again = cli(bob, "add", "Our docs", str(DATA / "family-day.eml"))  # bob's own copy
    assert again.returncode == 0 and "already in this workspace as" not in again.stdout  # same path
    assert again.stdout.startswith("skipped")
    # Nothing of the token in what the app wrote or printed.
    written = "".join(p.read_text(errors="ignore") for p in (bob / "workspaces").rglob("*.json"))
    assert team_proxy.token not in written + found.stdout + found.stderr
