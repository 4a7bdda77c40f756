"""Hearth's OpenAI-compatible local server (no Qt): the model the app has loaded, on the wire.

- ``app``: the Starlette application (routes, API key, pages that may not call it, errors).
- ``chat_api`` / ``responses_api``: ``POST /v1/chat/completions`` and ``POST /v1/responses``.
- ``openai_in`` / ``responses_in``: OpenAI requests in, a Harmony ``GenerateRequest`` out
  (``fields`` reads each field or answers 400); ``openai_out``: usage, ids, stop sequences.
- ``bridge``: one reply through the turn path (``app.chat.stream_reply``) on a thread, its events
  handed to the event loop; a client that goes away stops it. ``http``: body, SSE, disconnects.
- ``grammar``: ``response_format`` and a forced ``tool_choice`` as llama.cpp grammars.
- ``state``: configuration, the served model's names, counters; ``errors``: OpenAI's error JSON.
- ``runner``: uvicorn, in the foreground (``hearth serve``) or on a thread (the app's switch).

Every request goes through ``app.engine.queue.QueuedEngine``: one generation at a time.
"""
