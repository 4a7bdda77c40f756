"""A small MCP server for the tests (the SDK's MCPServer, the successor of FastMCP).

python demo_mcp.py stdio               # over stdin/stdout
python demo_mcp.py http                # streamable HTTP on 127.0.0.1; prints its port
python demo_mcp.py junk                # prints garbage instead of JSON-RPC, then stays
python demo_mcp.py die                 # exits at once with a message on stderr
python demo_mcp.py hang                # never answers
"""

from __future__ import annotations

import os
import socket
import sys
import time

MODE = sys.argv[1] if len(sys.argv) > 1 else "stdio"

if MODE == "die":
    print("demo server: missing API key, giving up", file=sys.stderr, flush=True)
    sys.exit(3)
if MODE == "hang":
    time.sleep(3600)
if MODE == "junk":
    print("this is not JSON-RPC", flush=True)
    time.sleep(3600)

from mcp.server.mcpserver import MCPServer  # noqa: E402
from mcp.server.mcpserver.utilities.types import Image  # noqa: E402

server = MCPServer("demo")

# A 1x1 PNG.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201c6ab5e"
    "0b0000000049454e44ae426082"
)


@server.tool(description="Adds two integers.")
def add(a: int, b: int) -> int:
    return a + b


@server.tool(description="Echoes the text back.")
def echo(text: str) -> str:
    return text


@server.tool(name="get-weather", description="Weather for a city (a name with a dash).")
def get_weather(city: str) -> str:
    return f"Sunny in {city}"


@server.tool(description="Sleeps for a while.")
def slow(seconds: float) -> str:
    time.sleep(seconds)
    return "done"


@server.tool(description="Kills the server in the middle of a call.")
def crash() -> str:
    os._exit(9)


@server.tool(description="Fails on purpose.")
def fail() -> str:
    raise ValueError("the tool failed on purpose")


@server.tool(description="Returns a tiny image.")
def pixel() -> Image:
    return Image(data=PIXEL, format="png")


if MODE == "http":
    import anyio
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))

    async def main() -> None:
        app = server.streamable_http_app(host="127.0.0.1")
        srv = uvicorn.Server(uvicorn.Config(app, log_level="warning"))

        async def announce() -> None:
            while not srv.started:
                await anyio.sleep(0.01)
            print(sock.getsockname()[1], flush=True)  # the test reads this line

        async with anyio.create_task_group() as tg:
            tg.start_soon(announce)
            await srv.serve(sockets=[sock])

    anyio.run(main)
else:
    server.run("stdio")
