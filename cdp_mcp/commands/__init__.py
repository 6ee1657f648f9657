"""One module per `cdp-mcp` subcommand (see `cli.COMMANDS`), each with `add_arguments(parser)` and `run(args)`."""

__all__: list[str] = []
