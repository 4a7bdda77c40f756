"""Remote backends: chat through an OpenAI-compatible server (vLLM, llama-server, Ollama,
LM Studio, another Hearth) behind the same engine interface as the local engine (no Qt).

- ``app.remote.connections``: the saved connections (``Remotes``, ``Connection``).
- ``app.remote.keys``: their API keys (the OS keyring, or a 0600 file where there is none).
- ``app.remote.engine``: ``RemoteEngine``, the ``Engine`` the turn path drives.
- ``app.remote.wire`` / ``app.remote.deltas``: Harmony history -> request; stream -> events.
- ``app.remote.failures``: each failure as an error kind and a sentence for the user.
"""
