"""A malformed CDP_LOG_FORMAT, drain time or metrics port stops start-up in one line naming the variable (exit 2),
before anything is served; so does a metrics port that cannot be had (exit 1, as a busy --port)."""

from __future__ import annotations

import socket

import pytest

from cdp_mcp.cli import main


@pytest.mark.parametrize(("variable", "value", "says"), [
    ("CDP_LOG_FORMAT", "yaml", "CDP_LOG_FORMAT Input should be 'text' or 'json'"),
    ("CDP_MCP_METRICS_PORT", "nine", "CDP_MCP_METRICS_PORT Input should be a valid integer"),
    ("CDP_MCP_METRICS_PORT", "70000", "CDP_MCP_METRICS_PORT Input should be less than or equal to 65535"),
    ("CDP_MCP_METRICS_PORT", "0", "CDP_MCP_METRICS_PORT Input should be greater than or equal to 1"),
    ("CDP_MCP_DRAIN_SECONDS", "-1", "CDP_MCP_DRAIN_SECONDS Input should be greater than or equal to 0"),
])
@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_a_malformed_setting_stops_start_up_naming_it(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], cdp_env: dict[str, str], variable: str,
        value: str, says: str, transport: str) -> None:
    monkeypatch.setenv(variable, value)
    assert main(["serve", "--transport", transport]) == 2
    captured = capsys.readouterr()
    assert says in captured.err and captured.out == ""


def test_a_metrics_port_in_use_stops_start_up_naming_it(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str],
                                                        cdp_env: dict[str, str]) -> None:
    """As a busy --port does: one line, exit code 1 (another process holds it; nothing is misconfigured)."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        monkeypatch.setenv("CDP_MCP_METRICS_PORT", str(port))
        assert main(["serve", "--transport", "http", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "choose another port with CDP_MCP_METRICS_PORT" in err


def test_the_metrics_port_cannot_be_the_mcp_port(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                                 cdp_env: dict[str, str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("CDP_MCP_METRICS_PORT", str(port))
    assert main(["serve", "--transport", "http", "--port", str(port)]) == 2
    assert "CDP_MCP_METRICS_PORT is the MCP port" in capsys.readouterr().err
