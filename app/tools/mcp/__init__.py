"""Function tools from MCP servers (the official ``mcp`` SDK), for the developer message.

``loop`` runs the SDK's asyncio on one background thread so callers stay synchronous;
``connection`` keeps one session per configured server and turns every failure (won't start,
hangs, crashes mid-call, junk) into a status sentence; ``tool`` maps the servers' tools to valid,
unique Harmony function names and runs calls through the Tool protocol.
"""
