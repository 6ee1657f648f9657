"""The `cdp-mcp` command line, run in process through `cli.main` as a shell would: output, exit codes, no leaks."""

from __future__ import annotations

import json
import logging
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from cdp_mcp.cli import main
from cdp_mcp.commands.call import parse_arguments
from cdp_mcp.commands.common import load_settings
from cdp_mcp.commands.demo import json_lines
from cdp_mcp.commands.doctor import Report
from cdp_mcp.sandbox import SampleCustomer
from cdp_mcp.sandbox.contract import MIN_CUSTOMERS
from cdp_mcp.sandbox.server import SandboxThread
from cdp_mcp.tools.registry import all_specs
from tests.helpers import free_port

SECRET = "hunter2hunter2hunter2hunter2hunt"  # 32 characters, like a tenant hash


def test_call_prints_the_compact_result(cdp_env: dict[str, str], showcase: SampleCustomer,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["call", "get_customer_profile", f"mobile={showcase.mobile}"]) == 0  # digits stay a string
    out = capsys.readouterr().out.strip()
    assert json.loads(out)["gcr_id"] == showcase.gcr_id
    assert "\n" not in out and ": " not in out.split('"name"')[0]  # compact JSON, one line


def test_call_is_error_goes_to_stderr_with_exit_1(cdp_env: dict[str, str], ambiguous: SampleCustomer,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["call", "get_customer_profile", f"email={ambiguous.email}"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "gcr_id" in err and "Traceback" not in err


def test_call_rejects_unknown_tools_and_arguments(cdp_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["call", "get_customer_secrets", "gcr_id=1"]) == 2
    assert "get_customer_profile" in capsys.readouterr().err  # lists what exists
    assert main(["call", "get_customer_profile", "gcrid=1"]) == 2
    assert "gcr_id" in capsys.readouterr().err


def test_tools_flag_overrides_the_allowlist(cdp_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                           showcase: SampleCustomer, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CDP_TOOLS", "get_customer_profile")
    assert main(["call", "--tools", "resolve_customer", "get_customer_profile", f"gcr_id={showcase.gcr_id}"]) == 2
    assert "available: resolve_customer" in capsys.readouterr().err


def test_demo_ignores_a_real_tenant_in_the_environment(cdp_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CDP_B2B_API_URL", "https://api.example.com/rcdpapi")
    monkeypatch.setenv("CDP_TENANT_HASH", SECRET)
    monkeypatch.setenv("CDP_TOOLS", "resolve_customer")
    assert main(["demo"]) == 0
    out, err = capsys.readouterr()
    assert f"{len(all_specs())} tools" in out and SECRET not in out + err


def test_call_arguments_follow_the_input_schema() -> None:
    schema = {"properties": {
        "gcr_id": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        "mobile": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "include": {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]},
        "customers": {"type": "array", "items": {"type": "object"}},
    }}
    parsed = parse_arguments(["gcr_id=7", "mobile=0412345678", "include=who,value", "customers=[{\"gcr_id\":1}]"],
                             schema)
    assert parsed == {"gcr_id": 7, "mobile": "0412345678", "include": ["who", "value"],
                      "customers": [{"gcr_id": 1}]}
    assert parse_arguments(["include=who", "include=consent"], schema) == {"include": ["who", "consent"]}


def test_json_lines_break_between_tokens_only() -> None:
    value = {"name": "Ms. Ada Lovelace", "age_band": "30-39", "tags": ["a, b", "c:d", 'say "hi"'],
             "next_cursor": "x" * 150, "nested": {"amount": 11938.16, "currency": "USD", "ok": True, "none": None}}
    text = json.dumps(value, separators=(",", ":"))
    cursor = json.dumps("x" * 150)
    for width in (20, 37, 60, 95):
        lines = json_lines(text, width)
        assert all(len(line) <= width for line in lines)
        assert not any(line.startswith((",", ":")) for line in lines)
        shown = "".join(lines)
        shortened = re.search(r'"x+…"', shown)
        assert shortened is not None  # too long for any line: shortened, never split
        assert shown.replace(shortened.group(0), cursor) == text  # everything else exactly as the model reads it
        for token in ('"Ms. Ada Lovelace"', '"age_band":"30-39"', json.dumps('say "hi"'), '"amount":11938.16'):
            assert any(token in line for line in lines), (width, token)


def test_doctor_passes_on_the_embedded_sandbox(cdp_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "embedded sandbox" in out and "[FAIL]" not in out
    assert "token for scope" in out and "creations left" in out


def test_doctor_fails_with_a_fix_when_the_api_is_unreachable(cdp_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    monkeypatch.setenv("CDP_B2B_API_URL", f"http://127.0.0.1:{port}/rcdpapi")
    monkeypatch.setenv("CDP_TENANT_HASH", SECRET)
    assert main(["doctor"]) == 1
    out, err = capsys.readouterr()
    assert f"[FAIL] cannot connect to 127.0.0.1:{port} (CDP_B2B_API_URL)" in out and "fix:" in out
    assert SECRET not in out + err and "CDP_TENANT_HASH = set" in out


def test_doctor_checks_a_separate_token_url_too(cdp_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str],
                                               start_sandbox_server: Callable[..., SandboxThread]) -> None:
    server = start_sandbox_server(customers=MIN_CUSTOMERS)
    port = free_port()
    monkeypatch.setenv("CDP_B2B_API_URL", server.base_url)
    monkeypatch.setenv("CDP_TOKEN_API_URL", f"http://127.0.0.1:{port}/rcdpapi")
    monkeypatch.setenv("CDP_TENANT_HASH", server.tenant_hash)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert f"CDP_TOKEN_API_URL = http://127.0.0.1:{port}/rcdpapi" in out
    assert "(CDP_B2B_API_URL) accepts HTTP connections" in out
    assert f"[FAIL] cannot connect to 127.0.0.1:{port} (CDP_TOKEN_API_URL)" in out
    assert "check the host and port in CDP_TOKEN_API_URL" in out


def test_doctor_says_what_it_found_and_never_guesses_a_secret_length(
    cdp_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    start_sandbox_server: Callable[..., SandboxThread], tmp_path: Path,
) -> None:
    oauth = "0123456789abcdef" * 2  # 32 characters: a working secret the vendor documents no length for
    server = start_sandbox_server(oauth_key_secret=oauth, customers=MIN_CUSTOMERS)
    monkeypatch.setenv("CDP_B2B_API_URL", server.base_url)
    monkeypatch.setenv("CDP_TENANT_HASH", server.tenant_hash)
    monkeypatch.setenv("CDP_OAUTH_KEY_SECRET", oauth)
    monkeypatch.setenv("CDP_STATE_DIR", str(tmp_path / "right"))
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "[FAIL]" not in out and "created a token for scope basic" in out
    reached = next(line for line in out.splitlines() if "accepts HTTP connections" in line)
    assert reached.lstrip().startswith("[ok]") and "HTTP 404" not in out  # a bare GET's status is no verdict

    for wrong, state in (("not-the-secret", "wrong"), ("", "missing")):
        monkeypatch.setenv("CDP_OAUTH_KEY_SECRET", wrong)  # empty counts as unset
        monkeypatch.setenv("CDP_STATE_DIR", str(tmp_path / state))  # no cached token: a creation is tried
        assert main(["doctor"]) == 1
        out, err = capsys.readouterr()
        failure = next(line for line in out.splitlines() if "[FAIL]" in line)
        fix = out.split(failure, 1)[1].splitlines()[1]
        assert "token" in failure and "CDP_OAUTH_KEY_SECRET" in fix, out
        assert ("set CDP_OAUTH_KEY_SECRET" in fix) == (state == "missing")
        assert "run `cdp-mcp doctor`" not in out  # no advice to run doctor, from inside doctor
        assert "characters" not in out and oauth not in out + err


@pytest.mark.parametrize("oauth", [False, True])
def test_doctor_blames_the_tenant_hash_when_the_api_says_the_tenant_is_unknown(
    cdp_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    start_sandbox_server: Callable[..., SandboxThread], tmp_path: Path, oauth: bool,
) -> None:
    secret = "0123456789abcdef"
    server = start_sandbox_server(customers=MIN_CUSTOMERS, **({"oauth_key_secret": secret} if oauth else {}))
    monkeypatch.setenv("CDP_B2B_API_URL", server.base_url)
    monkeypatch.setenv("CDP_TENANT_HASH", "wrong0tenant0hash000000000000001")
    monkeypatch.setenv("CDP_STATE_DIR", str(tmp_path))
    if oauth:
        monkeypatch.setenv("CDP_OAUTH_KEY_SECRET", secret)  # right: only the hash is wrong
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    failure = next(line for line in out.splitlines() if "[FAIL]" in line)
    fix = out.split(failure, 1)[1].splitlines()[1]
    assert "CDP_TENANT_HASH" in fix and "CDP_OAUTH_KEY_SECRET" not in fix, out


@pytest.mark.parametrize(("hint", "shown"), [
    ("Check CDP_TENANT_HASH and CDP_OAUTH_KEY_SECRET (run `cdp-mcp doctor`).",
     "Check CDP_TENANT_HASH and CDP_OAUTH_KEY_SECRET."),
    ("The Customer Profile API is not reachable right now; retry later or run `cdp-mcp doctor`.",
     "The Customer Profile API is not reachable right now; retry later."),
    ("Check CDP_STATE_DIR and its permissions; run `cdp-mcp doctor`.", "Check CDP_STATE_DIR and its permissions."),
])
def test_doctor_reports_a_hint_without_advice_to_run_doctor(hint: str, shown: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    Report().fail("something failed", hint)
    assert capsys.readouterr().out.splitlines()[1].strip() == f"fix: {shown}"


@pytest.mark.parametrize("command", [["serve"], ["call", "get_customer_profile", "gcr_id=1"], ["doctor"]])
def test_configuration_errors_exit_2_with_a_hint_and_no_traceback(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CDP_B2B_API_URL", "api.example.com/rcdpapi")  # no scheme
    assert main(command) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "CDP_B2B_API_URL" in err and "hint:" in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["serve", "sandbox"])
def test_a_busy_port_is_one_line_and_exit_code_1(command: str, cdp_env: dict[str, str],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = ["serve", "--transport", "http"] if command == "serve" \
            else ["sandbox", "--customers", str(MIN_CUSTOMERS)]
        assert main([*args, "--port", str(port)]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("  hint:")]
    assert lines == [line for line in lines if f"cannot listen on 127.0.0.1:{port}" in line] and len(lines) == 1, err
    assert "Traceback" not in err and "uvicorn" not in err


def test_unknown_tool_in_the_allowlist_stops_serve(cdp_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--tools", "get_customer_profile,get_customer_secrets"]) == 2
    assert "get_customer_secrets" in capsys.readouterr().err


def test_demo_runs_end_to_end(cdp_env: dict[str, str], showcase: SampleCustomer, shared_state_dir: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    before = sorted(p.name for p in shared_state_dir.iterdir())
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert f"{len(all_specs())} tools" in out and showcase.full_name in out
    for tool in ("get_customer_profile", "get_marketing_consent", "get_customer_overview", "screen_customers"):
        assert f"> {tool}(" in out
    assert "is_error:" in out  # the ambiguous customer's actionable message
    assert "created" in out and "allowance:" in out
    assert len(out.splitlines()) < 120
    assert '"age_band":"30-39"' in out  # compact JSON wrapped between tokens, a key beside its value
    assert sorted(p.name for p in shared_state_dir.iterdir()) == before  # a temporary state dir, not CDP_STATE_DIR


def test_secrets_are_masked_in_logged_tracebacks(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A crash that quotes the tenant hash reaches the host's log file without it."""
    monkeypatch.setenv("CDP_B2B_API_URL", "https://api.example.com/rcdpapi")
    monkeypatch.setenv("CDP_TENANT_HASH", SECRET)
    load_settings()
    try:
        raise RuntimeError(f"request failed with headers tenant_hash={SECRET}")
    except RuntimeError:
        logging.getLogger("cdp_mcp.tools.registry").exception("tool crashed while holding %s", SECRET)
    err = capsys.readouterr().err
    assert "tool crashed" in err and "RuntimeError" in err
    assert SECRET not in err and "[secret]" in err


def test_a_short_secret_is_masked_too_and_start_up_warns_about_it(monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CDP_MCP_AUTH_TOKEN", "zq7x")
    monkeypatch.setenv("CDP_TENANT_HASH", "zq7x-and-more")  # holds the short one: masked whole, once
    load_settings()
    logging.getLogger("cdp_mcp.http_app").warning("refused Bearer zq7x; tenant zq7x-and-more")
    err = capsys.readouterr().err
    assert "zq7x" not in err and "refused Bearer [secret]; tenant [secret]" in err
    assert "CDP_MCP_AUTH_TOKEN is shorter than 8 characters" in err


@pytest.mark.parametrize("short", ["e", "th", "ter"])
def test_masking_a_short_secret_never_garbles_the_warning_about_it(short: str, monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CDP_OAUTH_KEY_SECRET", short)  # letters of the warning's own words
    monkeypatch.setenv("CDP_B2B_API_URL", "https://api.example.com/rcdpapi")
    monkeypatch.setenv("CDP_TENANT_HASH", "another-secret-to-mask-0123456789")
    load_settings()
    err = capsys.readouterr().err
    assert ("CDP_OAUTH_KEY_SECRET is shorter than 8 characters: easy to guess, and every log line masks text that "
            "contains it") in err, err


@pytest.mark.parametrize("command", [["call", "resolve_customer", "gcr_id=1"],
                                     ["card", "gcr_id=1", "--out", "card.html"]])
def test_the_commands_that_run_a_server_in_process_export_its_traces(
    cdp_env: dict[str, str], tmp_path: Path, command: list[str],
) -> None:
    """build_server leaves the export of traces to the process: `call` and `card` (and `demo`, through the same
    in-process connection) set it up as `serve` does, when OTEL_* asks; the spans go to stderr, never stdout."""
    env = {**cdp_env, "PATH": "/usr/bin:/bin", "OTEL_TRACES_EXPORTER": "console"}
    done = subprocess.run([sys.executable, "-m", "cdp_mcp", *command], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env=env, check=True)
    assert '"name": "tools/call' in done.stderr and '"name": "cdp.upstream basic"' in done.stderr
    assert '"name"' not in done.stdout
