"""``hearth serve``: the OpenAI-compatible API for editors and scripts, on this computer.

    hearth serve --model gpt-oss-20b            # http://127.0.0.1:8321/v1
    hearth serve --host 0.0.0.0 --api-key KEY   # other computers too: a key is required

The model is loaded in the engine host as for ``hearth chat`` (the fit planner picks the context
and GPU layers unless --ctx/--ngl say otherwise); requests are queued and answered one at a time.
Ctrl-C stops the server. The key can also come from HEARTH_API_KEY (it then stays out of the
process list and the shell history).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from app.chat.testaid import hook_from_env
from app.cli.chat_cmd import DEFAULT_CTX, _number, one_line_errors
from app.engine.client import EngineClient
from app.engine.errors import EngineError
from app.engine.options import LoadOptions
from app.engine.queue import QueuedEngine


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="serve the model to editors and scripts (OpenAI-compatible API)",
        description="Serve a gpt-oss model over an OpenAI-compatible API (/v1/chat/completions, "
        "/v1/responses, /v1/models) on this computer. See 'Use Hearth from your editor' in the "
        "README for client settings.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port", type=_number(int), default=8321, metavar="N", help="default 8321 (0: a free port)"
    )
    p.add_argument(
        "--model",
        metavar="ID|PATH",
        help="an installed model (see `hearth models list`) or a GGUF file; default: the only "
        "installed gpt-oss model",
    )
    p.add_argument(
        "--api-key",
        metavar="KEY",
        default=os.environ.get("HEARTH_API_KEY") or None,
        help="require 'Authorization: Bearer KEY' (default: $HEARTH_API_KEY); needed for any "
        "--host other than this computer",
    )
    p.add_argument("--ctx", type=_number(int), metavar="N", help="context size in tokens")
    p.add_argument("--ngl", type=_number(int), metavar="N", help="layers on the GPU (-1: all)")
    p.add_argument("--threads", type=_number(int), metavar="N", help="CPU threads")
    p.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="URL",
        help="let web pages from this origin call the API (repeatable; default: none)",
    )
    p.add_argument(
        "--max-body-mb", type=_number(int), default=32, metavar="N", help="largest request body"
    )
    p.add_argument(
        "--verbose", action="store_true", help="log requests and replies with their text"
    )
    p.set_defaults(func=run)
    one_line_errors(p)


def _err(message: str, code: int = 1) -> int:
    print(f"hearth serve: {message}", file=sys.stderr)
    return code


def resolve_model(key: str | None) -> Path:
    """The GGUF to serve: a file, an installed model's id or name, or the only installed one."""
    from app.hub.installed import ModelLibrary

    if key and Path(key).expanduser().is_file():
        return Path(key).expanduser()
    library = ModelLibrary()
    if key:
        found = library.find(key)
        if found is None:
            raise EngineError(
                "not_found",
                f"No installed model matches '{key}'. See `hearth models list`, or give a path "
                "to a .gguf file.",
            )
        if not found.ok:
            raise EngineError("load_failed", f"{found.id} can't be loaded: {found.problem}")
        return found.path
    usable = [m for m in library.models() if m.ok and m.info and m.info.architecture == "gpt-oss"]
    if len(usable) == 1:
        return usable[0].path
    if not usable:
        raise EngineError(
            "not_found",
            "No gpt-oss model is installed. Download one (`hearth models download "
            "gpt-oss-20b`) or give a .gguf file with --model.",
        )
    names = ", ".join(m.id for m in usable)
    raise EngineError(
        "not_found", f"Several models are installed ({names}): choose one with --model."
    )


def load_options(path: Path, args: argparse.Namespace) -> LoadOptions:
    """The fit planner's options for this computer, with --ctx/--ngl/--threads in place."""
    from app.hub import hardware
    from app.hub.planner import plan_with_overrides
    from app.hub.shape import ShapeError, read_shape

    try:
        shape = read_shape(path)
        plan = plan_with_overrides(
            shape, hardware.detect(), str(path), n_ctx=args.ctx, n_gpu_layers=args.ngl
        )
        options = plan.to_load_options()
    except (ShapeError, OSError, ValueError):
        options = LoadOptions(
            model_path=str(path),
            n_ctx=args.ctx or DEFAULT_CTX,
            n_gpu_layers=args.ngl if args.ngl is not None else 0,
        )
    if args.threads:
        options.n_threads = args.threads
    return options


def run(args: argparse.Namespace) -> int:
    from app.server.runner import BindError, check_bind, serve_forever
    from app.server.state import MB, ServerConfig, scripts_allowed

    if not 0 <= args.port < 65536:
        return _err(f"--port must be between 0 (a free port) and 65535 (got {args.port})", 2)
    if args.max_body_mb < 1:
        return _err("--max-body-mb must be at least 1", 2)
    config = ServerConfig(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        cors_origins=list(args.cors_origin),
        max_body_bytes=args.max_body_mb * MB,
        verbose=args.verbose,
        allow_scripts=scripts_allowed(),  # testing aids: see app.server.state
        before_send=hook_from_env(),
    )
    try:
        check_bind(config)
    except BindError as e:
        return _err(str(e), 2)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
    )
    client = EngineClient()
    try:
        path = resolve_model(args.model)
        options = load_options(path, args)
        print(f"Loading {path.name} (context {options.n_ctx:,} tokens)…", file=sys.stderr)
        client.start()
        info = client.load(options)
    except EngineError as e:
        client.close()
        return _err(e.message)
    except KeyboardInterrupt:
        client.close()
        return 130
    served = path.name.removesuffix(".gguf")

    def ready(config: ServerConfig) -> None:
        print(
            f"Serving {served} at {config.url} (loaded in {info.load_s:.1f} s). "
            "Ctrl-C stops the server.",
            file=sys.stderr,
            flush=True,
        )

    try:
        serve_forever(QueuedEngine(client), config, on_ready=ready)
    except BindError as e:
        return _err(str(e))
    except KeyboardInterrupt:  # uvicorn stops on Ctrl-C, then passes the signal on: done
        pass
    finally:
        client.close()
    print("Stopped.", file=sys.stderr)
    return 0
