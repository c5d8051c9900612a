"""The ``outreach`` command as a user runs it: a real process on a real SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest


def outreach(
    tmp_path: Path,
    *args: str,
    timeout: float = 120,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    environment = (
        os.environ
        | (env or {})
        | {
            "OUTREACH_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
            "OUTREACH_EXECUTOR_ID": "cli-test",
            "COLUMNS": "200",
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "outreach", *args],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
    )


def test_campaign_commands(tmp_path: Path) -> None:
    made = outreach(tmp_path, "accounts", "create", "Me", "--timezone", "Europe/Paris")
    assert made.returncode == 0, made.stderr
    assert "account 1 created" in made.stdout
    assert outreach(tmp_path, "campaigns", "create", "Q4", "--account-id", "1").returncode == 0
    (tmp_path / "people.csv").write_text(
        "First Name;Last Name;LinkedIn URL\n"
        "Ada;Lovelace;https://www.linkedin.com/in/cli-ada/\n"
        "Bad;Row;https://example.com/x\n"
        "Alan;Turing;linkedin.com/in/cli-alan\n"
    )
    imported = outreach(tmp_path, "campaigns", "import", "1", "people.csv")
    assert imported.returncode == 1, "a bad row makes the import say so"
    assert "imported 2" in imported.stdout
    assert "row 3" in imported.stdout and "not a LinkedIn URL" in imported.stdout

    forecast = outreach(tmp_path, "campaigns", "forecast", "1")
    assert forecast.returncode == 0, forecast.stdout + forecast.stderr
    assert "2 prospects" in forecast.stdout and "days from now" in forecast.stdout

    launched = outreach(tmp_path, "campaigns", "launch", "1")
    assert launched.returncode == 0, launched.stdout + launched.stderr
    assert "2 journeys scheduled" in launched.stdout
    assert "was launched already" in outreach(tmp_path, "campaigns", "launch", "1").stdout

    status = outreach(tmp_path, "campaigns", "status", "1").stdout
    assert "scheduled" in status and "active" in status
    assert outreach(tmp_path, "campaigns", "pause", "1").returncode == 0
    assert "paused" in outreach(tmp_path, "campaigns", "status", "1").stdout
    assert outreach(tmp_path, "campaigns", "resume", "1").returncode == 0

    assert "account 1 paused" in outreach(tmp_path, "accounts", "pause", "1").stdout
    listed = outreach(tmp_path, "accounts", "list").stdout
    assert "paused" in listed and "paused by a person" in listed
    assert "account 1 resumed" in outreach(tmp_path, "accounts", "resume", "1").stdout
    doctor = outreach(tmp_path, "doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "0 journeys without a live workflow" in doctor.stdout
    empty = outreach(tmp_path, "campaigns", "create", "Empty", "--account-id", "1")
    assert empty.returncode == 0
    refused = outreach(tmp_path, "campaigns", "launch", "2")
    assert refused.returncode == 1 and "no prospects" in refused.stdout


def test_do_not_contact_commands_and_what_an_import_leaves_out(tmp_path: Path) -> None:
    assert outreach(tmp_path, "accounts", "create", "Me").returncode == 0
    for name in ("First", "Second"):
        assert outreach(tmp_path, "campaigns", "create", name, "--account-id", "1").returncode == 0
    (tmp_path / "first.csv").write_text("LinkedIn URL\nlinkedin.com/in/cli-ada\n")
    assert outreach(tmp_path, "campaigns", "import", "1", "first.csv").returncode == 0

    added = outreach(tmp_path, "dnc", "add", "company", " Acme  GmbH", "--reason", "a [customer]")
    assert added.returncode == 0, added.stdout + added.stderr
    assert "entry 1 (company acme gmbh) added; 0 journeys stopped" in added.stdout
    again = outreach(tmp_path, "dnc", "add", "COMPANY", "acme gmbh")
    assert "entry 1 (company acme gmbh) was already on the list" in again.stdout
    bad = outreach(tmp_path, "dnc", "add", "planet", "Mars")
    assert bad.returncode == 2 and "kind: Input should be 'person'" in bad.stdout
    empty = outreach(tmp_path, "dnc", "add", "domain", "not a domain")
    assert empty.returncode == 2 and "not a domain name" in empty.stdout

    (tmp_path / "second.csv").write_text(
        "LinkedIn URL,Company\n"
        "https://www.linkedin.com/in/CLI-Ada/,\n"
        "linkedin.com/in/cli-carl,ACME GmbH\n"
        "linkedin.com/in/cli-dora,Initech\n"
    )
    imported = outreach(tmp_path, "campaigns", "import", "2", "second.csv")
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "imported 1, duplicates 0, in another campaign 1, do not contact 1" in imported.stdout
    assert "row 2: cli-ada is in campaign 1 (First)" in imported.stdout
    assert (
        "row 3: cli-carl is on the do-not-contact list: company acme gmbh "
        "(reason: a [customer])" in imported.stdout
    )

    assert outreach(tmp_path, "campaigns", "launch", "1").returncode == 0
    stopped = outreach(tmp_path, "dnc", "add", "person", "https://www.linkedin.com/in/cli-ada/")
    assert "entry 2 (person cli-ada) added; 1 journey stopped" in stopped.stdout
    listed = outreach(tmp_path, "dnc", "list")
    assert listed.returncode == 0
    assert "cli-ada" in listed.stdout and "a [customer]" in listed.stdout
    assert listed.stdout.index("cli-ada") < listed.stdout.index("acme gmbh"), "newest first"
    only = outreach(tmp_path, "dnc", "list", "--kind", "person").stdout
    assert "cli-ada" in only and "acme gmbh" not in only
    assert "entry 1 (company acme gmbh) removed" in outreach(tmp_path, "dnc", "remove", "1").stdout
    gone = outreach(tmp_path, "dnc", "remove", "1")
    assert gone.returncode == 1 and "no do-not-contact entry 1" in gone.stdout
    assert "Traceback" not in gone.stdout + gone.stderr


def test_bad_input_is_reported_not_raised(tmp_path: Path) -> None:
    zone = outreach(tmp_path, "accounts", "create", "Me", "--timezone", "Mars/Olympus")
    assert zone.returncode == 2
    assert "timezone: Value error, unknown time zone" in zone.stdout
    (tmp_path / "bad.json").write_text('{"not": "a list"}')
    bad_json = outreach(tmp_path, "campaigns", "import", "1", "bad.json")
    assert bad_json.returncode == 2
    assert "expected a JSON list of prospects" in bad_json.stdout
    missing = outreach(tmp_path, "campaigns", "launch", "42")
    assert missing.returncode == 1
    assert "no campaign 42" in missing.stdout
    assert "Traceback" not in missing.stdout + missing.stderr
    env_error = subprocess.run(
        [sys.executable, "-m", "outreach", "campaigns", "list"],
        env=os.environ | {"OUTREACH_TIME_SCALE": "-3"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert env_error.returncode == 2
    assert "time_scale" in env_error.stdout


@pytest.mark.parametrize("prospects", [8])
def test_demo_runs_the_whole_sequence_and_its_summary_matches(
    tmp_path: Path, prospects: int
) -> None:
    demo = outreach(
        tmp_path,
        "demo",
        "--prospects",
        str(prospects),
        "--time-scale",
        "172800",
        "--database",
        f"sqlite:///{tmp_path / 'demo.db'}",
        timeout=180,
    )
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "summary matches the journeys' events and the simulator's record" in demo.stdout
    assert f"{prospects}/{prospects}" in demo.stdout


def test_unipile_webhooks_registers_the_three_webhooks_once(tmp_path: Path) -> None:
    from outreach.sandbox.fake_unipile import create_fake_unipile_app, open_simulator
    from tests.loopback import serve

    simulator = open_simulator(f"sqlite:///{tmp_path / 'fake.db'}")
    fake = create_fake_unipile_app(
        simulator, api_key="k", webhook_url=None, webhook_secret=None, account_ids=["acc"]
    )
    with serve(fake) as url:
        env = {"UNIPILE_DSN": url, "UNIPILE_API_KEY": "k", "OUTREACH_WEBHOOK_SECRET": "s3cret"}
        target = "--url=https://outreach.example/api/webhooks/unipile"
        first = outreach(tmp_path, "unipile", "webhooks", target, env=env)
        assert first.returncode == 0, first.stdout + first.stderr
        assert first.stdout.count(",") == 2, first.stdout  # three ids
        again = outreach(tmp_path, "unipile", "webhooks", target, env=env)
        assert "already there" in again.stdout
        listed = httpx.get(f"{url}/api/v1/webhooks", headers={"X-API-KEY": "k"}).json()
        assert len(listed["items"]) == 3
        assert "s3cret" not in first.stdout + first.stderr
    missing = outreach(tmp_path, "unipile", "webhooks", target, env={"OUTREACH_WEBHOOK_SECRET": ""})
    assert missing.returncode == 2
    assert "OUTREACH_WEBHOOK_SECRET" in missing.stdout


def test_users_and_keys_from_the_server(tmp_path: Path) -> None:
    made = outreach(tmp_path, "users", "create-admin", "Ada", "--password-stdin", stdin="p" * 14)
    assert made.returncode == 0, made.stdout + made.stderr
    assert "admin ada created" in made.stdout
    short = outreach(tmp_path, "users", "create", "bob", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "at least 12 characters" in short.stdout
    listed = outreach(tmp_path, "users", "list", "--json")
    assert [json.loads(line)["username"] for line in listed.stdout.splitlines()] == ["ada"]
    key = outreach(tmp_path, "users", "key", "ada", "--name", "ci")
    assert key.returncode == 0, key.stdout + key.stderr
    assert key.stdout.strip().splitlines()[-1].startswith("ok_")
    assert "p" * 14 not in made.stdout + made.stderr
    nobody = outreach(tmp_path, "users", "key", "nobody")
    assert nobody.returncode == 1 and "no user 'nobody'" in nobody.stdout


def test_an_empty_bootstrap_key_stops_the_server_with_a_clear_reason(tmp_path: Path) -> None:
    refused = outreach(tmp_path, "serve", "--port", "1", env={"OUTREACH_API_KEY": ""}, timeout=60)
    assert refused.returncode == 2
    assert "OUTREACH_API_KEY is set but empty" in refused.stdout


def test_campaigns_edit_and_versions(tmp_path: Path) -> None:
    assert outreach(tmp_path, "accounts", "create", "Me").returncode == 0
    assert outreach(tmp_path, "campaigns", "create", "C", "--account-id", "1").returncode == 0
    spec = tmp_path / "v2.json"
    spec.write_text(
        json.dumps(
            {
                "sequence": {"follow_up_days": [3, 10]},
                "templates": {"invitation_note": None, "follow_ups": ["one", "two"]},
            }
        )
    )
    edited = outreach(tmp_path, "campaigns", "edit", "1", "--spec", str(spec))
    assert edited.returncode == 0, edited.stderr
    assert "version 2 saved" in edited.stdout
    again = outreach(tmp_path, "campaigns", "edit", "1", "--spec", str(spec), "--name", "D")
    assert "unchanged (version 2)" in again.stdout
    listed = outreach(tmp_path, "campaigns", "versions", "1", "--json")
    versions = json.loads(listed.stdout)
    assert [(v["version"], v["saved_by"]) for v in versions] == [(2, "cli"), (1, None)]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"templates": {"follow_ups": ["{{ oops"] * 5}}))
    refused = outreach(tmp_path, "campaigns", "edit", "1", "--spec", str(bad))
    assert refused.returncode == 1
    assert "cannot be sent" in refused.stdout
    assert outreach(tmp_path, "campaigns", "versions", "1").returncode == 0


def test_every_read_command_speaks_json(tmp_path: Path) -> None:
    assert outreach(tmp_path, "accounts", "create", "Me").returncode == 0
    assert outreach(tmp_path, "campaigns", "create", "Q4", "--account-id", "1").returncode == 0
    (tmp_path / "people.csv").write_text(
        "first_name,company,profile_url\n"
        "Ada,Analytical,https://www.linkedin.com/in/json-ada/\n"
        "Alan,Bletchley,https://www.linkedin.com/in/json-alan/\n"
    )
    assert outreach(tmp_path, "campaigns", "import", "1", "people.csv").returncode == 0

    def lines(*args: str) -> list[dict]:  # type: ignore[type-arg]
        done = outreach(tmp_path, *args, "--json")
        assert done.returncode == 0, done.stdout + done.stderr
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]

    assert [a["name"] for a in lines("accounts", "list")] == ["Me"]
    assert [c["prospects"] for c in lines("campaigns", "list")] == [2]
    assert lines("campaigns", "status", "1")[0]["pending_prospects"] == 2
    assert lines("campaigns", "forecast", "1")[0]["prospects"] == 2
    found = lines("campaigns", "prospects", "1", "-q", "bletch")
    assert [(p["first_name"], p["state"]) for p in found] == [("Alan", "pending")]
    assert lines("campaigns", "analytics", "1")[0]["funnel"]["journeys"] == 0
    assert outreach(tmp_path, "campaigns", "launch", "1").returncode == 0
    runs = lines("runs", "list", "--campaign", "1")
    assert any(r["title"].startswith("Schedule the pending prospects of Q4") for r in runs)
    shown = lines("runs", "show", runs[-1]["workflow_id"])[0]
    assert shown["steps"] and all(s["ok"] for s in shown["steps"])
    assert outreach(tmp_path, "dnc", "add", "company", "Initech").returncode == 0
    assert [e["value"] for e in lines("dnc", "list")] == ["initech"]
    bad = outreach(tmp_path, "campaigns", "prospects", "1", "--state", "nope")
    assert bad.returncode == 2 and "--state must be one of" in bad.stdout
