"""`cdp-mcp sandbox`: serve the emulated API over HTTP and print how to reach it (one JSON line with --json);
`cdp-mcp sandbox export-audience`: write an audience export from it, as a CDP's segment builder would."""

from __future__ import annotations

import argparse
import json
import socket
import sys
from pathlib import Path
from typing import Any, get_args

import anyio
import uvicorn
from pydantic import ValidationError

from cdp_mcp.catalog import RESOURCES
from cdp_mcp.commands.common import EXIT_CONFIG, EXIT_FAILURE, configure_logging, load_settings, say
from cdp_mcp.listening import bind_socket, cannot_listen
from cdp_mcp.sandbox.contract import MIN_CUSTOMERS
from cdp_mcp.sandbox.export import write_audience
from cdp_mcp.sandbox.options import SandboxOptions
from cdp_mcp.sandbox.runtime import Sandbox, open_sandbox
from cdp_mcp.sandbox.server import serve_sandbox
from cdp_mcp.sandbox.store import Store
from cdp_mcp.settings import ValidityUnit

__all__ = ["DESCRIPTION", "EXPORT_DESCRIPTION", "add_arguments", "describe", "export", "options_from", "run"]

DESCRIPTION = (f"Serve the Customer Profile B2B API emulator (all {len(RESOURCES)} resources and the token endpoints) "
               "over HTTP on a synthetic tenant, for client developers and tests; or export an audience from it.")
EXPORT_DESCRIPTION = ("Write what the CDP's segment builder would export for a segment (or for every customer) of the "
                      "embedded sandbox: mixed identifier columns, a few bad rows and duplicates. Put it in "
                      "CDP_AUDIENCE_DIR and screen it with screen_audience(audience_file=...).")



def _default(option: str) -> Any:
    return SandboxOptions.model_fields[option].default


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The subcommand's options; every default works as is for a newcomer (SandboxOptions' own)."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
    parser.add_argument("--customers", type=int, default=_default("customers"),
                        help=f"tenant size (default {_default('customers')}, min {MIN_CUSTOMERS})")
    parser.add_argument("--seed", type=int, default=_default("seed"), help=f"data seed (default {_default('seed')})")
    parser.add_argument("--db", type=Path, default=None,
                        help="SQLite file to keep (reused when built with the same seed and size); default: temporary")
    parser.add_argument("--tenant-hash", default=_default("tenant_hash"), help="the tenant hash clients must send")
    parser.add_argument("--oauth-key-secret", default=None, help="enable OAuth for token calls with this secret")
    parser.add_argument("--token-daily-limit", type=int, default=_default("token_daily_limit"),
                        help=f"token creations per UTC day (default {_default('token_daily_limit')})")
    parser.add_argument("--validity-unit", choices=get_args(ValidityUnit), default=_default("validity_unit"),
                        help=f"unit of a token's `validity` (default {_default('validity_unit')})")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the first stdout line")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    export = actions.add_parser("export-audience", help="write an audience export from the embedded sandbox",
                                description=EXPORT_DESCRIPTION)
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--segment", help="the segment's exact name (or id), e.g. \"Lapsed 90 Days\"")
    which.add_argument("--all", action="store_true", help="every customer of the sandbox")
    export.add_argument("--limit", type=_row_count, default=None, help="at most this many rows (1 or more)")
    export.add_argument("--out", type=Path, required=True, help="the CSV file to write (e.g. ~/cdp-audiences/x.csv)")


def _row_count(text: str) -> int:
    """--limit: a whole number of rows, at least one (an export of nobody is no audience to screen)."""
    try:
        rows = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of rows") from None
    if rows < 1:
        raise argparse.ArgumentTypeError(f"{rows} rows would export nobody; give 1 or more")
    return rows


def describe(sandbox: Sandbox, base_url: str) -> dict[str, Any]:
    """What a client needs: base URL, credentials (sandbox values, not secrets) and the sample customers."""
    return {
        "base_url": base_url,
        "tenant_hash": sandbox.tenant_hash,
        "oauth_key_secret": sandbox.oauth_key_secret,
        "customers": sandbox.options.customers,
        "seed": sandbox.options.seed,
        "samples": [{"label": s.label, "gcr_id": s.gcr_id, "email": s.email, "mobile": s.mobile,
                     "customer_code": s.customer_code, "full_name": s.full_name, "description": s.description}
                    for s in sandbox.samples],
    }


def _shown(name: str, width: int = 40) -> str:
    """A sample's name as a terminal line shows it: invisible characters escaped, cut at `width` (the hostile
    samples hide text and reverse the line otherwise)."""
    text = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}"
                   for c in name)
    return text if len(text) <= width else text[:width - 1] + "…"


def _print_text(info: dict[str, Any]) -> None:
    lines = [f"Customer Profile API sandbox: {info['base_url']}",
             f"  tenant_hash:      {info['tenant_hash']}",
             f"  oauth_key_secret: {info['oauth_key_secret'] or '(OAuth disabled)'}",
             f"  customers:        {info['customers']} (seed {info['seed']})",
             "  sample customers:"]
    for s in info["samples"]:
        ids = ", ".join(f"{k}={s[k]}" for k in ("gcr_id", "email", "mobile", "customer_code") if s[k] is not None)
        lines.append(f"    {s['label']:<16} {_shown(s['full_name']):<22} {ids}")
    print("\n".join(lines), flush=True)


async def _serve(args: argparse.Namespace, options: SandboxOptions, sock: socket.socket) -> None:
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    async with open_sandbox(options) as sandbox:
        info = describe(sandbox, f"http://{host}:{port}{options.context_path}")

        def started(server: uvicorn.Server) -> None:
            if args.json:
                print(json.dumps(info), flush=True)
            else:
                _print_text(info)

        await serve_sandbox(sandbox, sock, on_started=started)


def options_from(args: argparse.Namespace) -> SandboxOptions:
    """The sandbox the command line asks for (raises pydantic's ValidationError for an unusable option)."""
    return SandboxOptions(customers=args.customers, seed=args.seed, db_path=args.db, tenant_hash=args.tenant_hash,
                          oauth_key_secret=args.oauth_key_secret, token_daily_limit=args.token_daily_limit,
                          validity_unit=args.validity_unit)


def export(args: argparse.Namespace) -> int:
    """The embedded sandbox of these settings (CDP_SANDBOX_CUSTOMERS, CDP_SANDBOX_SEED, in CDP_STATE_DIR, as
    `cdp-mcp serve` opens it; built on first use), exported; the file's path on stdout."""
    from cdp_mcp.backend import SANDBOX_DB_NAME  # noqa: PLC0415 - the client and broker only for this action

    settings = load_settings(quiet=True)
    sandbox = settings.sandbox
    db_path = settings.state.state_dir / SANDBOX_DB_NAME.format(customers=sandbox.sandbox_customers,
                                                                seed=sandbox.sandbox_seed)
    if not db_path.exists():
        say(f"building the embedded sandbox ({sandbox.sandbox_customers:,} customers) in {db_path}: once")
    store = Store.open(seed=sandbox.sandbox_seed, customers=sandbox.sandbox_customers, db_path=db_path)
    try:
        written = write_audience(store, args.out.expanduser(), segment=args.segment, limit=args.limit,
                                 seed=sandbox.sandbox_seed)
    finally:
        store.close()
    what = f"segment {written.segment!r}" if written.segment else "every customer"
    say(f"wrote {written.rows:,} rows of {what} ({written.customers:,} customers, {written.bad} bad rows, "
        f"{written.duplicates} duplicates) from the sandbox of {sandbox.sandbox_customers:,} customers")
    print(written.path.resolve(), flush=True)
    return 0


def run(args: argparse.Namespace) -> int:
    """Seed (or reuse --db), bind, print, serve until interrupted; or export an audience."""
    if args.action == "export-audience":
        return export(args)
    configure_logging("INFO")  # the seeding and serving lines, on stderr like every command's logs
    try:
        options = options_from(args)
    except ValidationError as exc:  # worded without the input values: two of the options are secrets
        for error in exc.errors():
            option = "--" + "-".join(str(part) for part in error["loc"]).replace("_", "-").replace("db-path", "db")
            print(f"cdp-mcp sandbox: {option}: {error['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        sock = bind_socket(args.host, args.port)
    except (OSError, OverflowError) as exc:
        print(f"cdp-mcp sandbox: {cannot_listen(args.host, args.port, exc)}", file=sys.stderr)
        return EXIT_FAILURE
    try:
        anyio.run(_serve, args, options, sock, backend="asyncio")
    except KeyboardInterrupt:
        pass
    except FileExistsError as exc:  # --db names a file that is not a sandbox database
        print(f"cdp-mcp sandbox: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    finally:
        sock.close()
    return 0
