"""The llama.cpp side of Hearth (no Qt): GGUF inspection, the generation loop, the engine host
process and the client the CLI and GUI use.

Import from the submodules: ``app.engine.client`` (EngineClient, EngineError, GenerateRequest),
``app.engine.events``, ``app.engine.options``, ``app.engine.gguf_info``. Only the host process
imports llama_cpp (``app.engine.generator``, ``app.engine.native``).
"""
