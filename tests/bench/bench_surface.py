"""The tool surface: bytes and approximate tokens of `tools/list`, by part, against issue 17's budget.

Every conversation loads the tool list before its first question, so its size is a fixed cost: hosts give the
model each tool's description and input schema (the "for the model" budget: 12 KB), and the whole answer, output
schemas and annotations included, travels and is cached by every client (22 KB for the sixteen tools issue 17
measured; the three audience-screening tools of issue 18 within their own 5.5 KB). Prints each part, each tool,
the server instructions (which the model reads too) and the verdicts; `tests/tools/test_registry.py` holds the
same limits.

Tokens are approximated as bytes / 4, the usual rule for English text and the one issue 17 used (33.7 KB, about
8,500 tokens), so figures compare. No tokenizer of Claude's is public, and tiktoken fetches its vocabularies at
run time (not possible here). JSON schemas are punctuation-dense and tokenize at nearer 3 bytes a token, so read
the token figures as a lower bound.

    python tests/bench/bench_surface.py [--tools=a,b,c]
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import anyio
from mcp import Client

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from cdp_mcp.server import build_server  # noqa: E402
from cdp_mcp.settings import Settings  # noqa: E402
from cdp_mcp.tools.audience import SCREENING_TOOLS  # noqa: E402
from tests.helpers import LIST_BUDGET, MODEL_BUDGET, SCREENING_LIST_BUDGET, Surface  # noqa: E402

__all__ = ["main"]


def _tokens(size: int) -> str:
    return f"~{size / 4:,.0f}"


def _kb(size: int) -> str:
    return f"{size / 1024:.1f} KB"


async def main(tools: list[str] | None) -> None:
    with tempfile.TemporaryDirectory(prefix="cdp-mcp-bench-") as state:
        settings = Settings(_env_file=None, state_dir=Path(state), tools=tools)  # type: ignore[call-arg]
        async with Client(build_server(settings)) as client:
            listed = (await client.list_tools()).tools
            instructions = (client.instructions or "").encode()
    surface = Surface.of(listed)
    print(f"tools/list: {surface.tools} tools, compact JSON; tokens ~ bytes / 4 (a lower bound for JSON)")
    print(f"{'part':40} {'bytes':>7} {'tokens':>7}")
    parts = {"descriptions": surface.descriptions, "input schemas": surface.inputs,
             "  for the model (descriptions + inputs)": surface.for_the_model, "output schemas": surface.outputs,
             "names, titles, annotations, _meta": surface.whole - surface.for_the_model - surface.outputs,
             "whole tools/list": surface.whole, "server instructions (besides the list)": len(instructions)}
    for part, size in parts.items():
        print(f"{part:40} {size:>7,} {_tokens(size):>7}")
    print(f"\n{'tool':30} {'description':>11} {'input':>6} {'output':>6} {'whole':>6}")
    for tool in listed:
        one = Surface.of([tool])
        print(f"{tool.name:30} {one.descriptions:>11,} {one.inputs:>6,} {one.outputs:>6,} {one.whole:>6,}")
    print()
    others = Surface.of([t for t in listed if t.name not in SCREENING_TOOLS])
    screening = Surface.of([t for t in listed if t.name in SCREENING_TOOLS])
    for label, size, budget in (("for the model", surface.for_the_model, MODEL_BUDGET),
                                (f"whole tools/list but the screening tools ({others.tools})", others.whole,
                                 LIST_BUDGET),
                                (f"the screening tools ({screening.tools})", screening.whole, SCREENING_LIST_BUDGET)):
        verdict = "ok" if size <= budget else "OVER BUDGET"
        print(f"{label}: {_kb(size)} of {_kb(budget)} ({budget - size:,} bytes of headroom) {verdict}")
    refs = sum("$ref" in json.dumps([t.input_schema, t.output_schema]) for t in listed)
    print(f"schemas with a $ref: {refs} (hosts that cannot resolve one fail the whole list)")


if __name__ == "__main__":
    chosen = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--tools=")), None)
    anyio.run(main, chosen.split(",") if chosen else None)
