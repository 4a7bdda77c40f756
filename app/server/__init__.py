"""Hearth's OpenAI-compatible local server (no Qt): the model the app has loaded, on the wire.

- ``app``: the Starlette application (routes, API key, body limit, CORS, errors).
- ``chat_api`` / ``responses_api``: ``POST /v1/chat/completions`` and ``POST /v1/responses``.
- ``convert``: OpenAI messages and tools in, Harmony messages out (``openai_in``); engine events
  out as OpenAI shapes (``openai_out``).
- ``bridge``: runs one reply through the turn path (``app.chat.stream_reply``) on a thread and
  hands its events to the event loop; a client that goes away stops it.
- ``grammar``: ``response_format`` and ``tool_choice`` as llama.cpp grammars.
- ``runner``: uvicorn, in the foreground (``hearth serve``) or on a thread (the app's switch).

Every request goes through ``app.engine.queue.QueuedEngine``: one generation at a time.
"""
