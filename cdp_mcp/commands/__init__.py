"""One module per `cdp-mcp` subcommand (serve, demo, doctor, call, config), each exposing `run(args) -> int`."""

__all__: list[str] = []
