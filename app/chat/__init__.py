"""One turn of a conversation: the only code that consumes a reply stream (no Qt).

Everything that asks for a reply comes through here: the GUI's worker, ``hearth chat`` (saved and
``--no-save``), the tool loop and the API server. Everything that produces a reply sits behind
``app.engine.backend.Engine``.

- ``reply``: ``stream_reply`` (one reply, the one loop over an engine stream), ``TurnControl``
  (Stop), ``TurnOutcome`` (how a turn ended: the one result type), the recorders.
- ``turn``: a turn with its tool calls; saved (``prepare_turn``/``stream_turn``/``run_turn``)
  or in memory (``run_unsaved``).
- ``tools``: what a turn needs from the tools, and running one call (consent, limits).
- ``history``: a stored conversation as Harmony messages and prompt settings.
"""

from app.chat.history import harmony_history, prompt_settings, sampling_options
from app.chat.reply import (
    EventCallback,
    Recorder,
    ReplyBuffer,
    TurnControl,
    TurnOutcome,
    stream_reply,
)
from app.chat.tools import MAX_CALLS, ConsentAsker, ToolHost, TurnTools
from app.chat.turn import PreparedTurn, prepare_turn, run_turn, run_unsaved, stream_turn

__all__ = [
    "MAX_CALLS",
    "ConsentAsker",
    "EventCallback",
    "PreparedTurn",
    "Recorder",
    "ReplyBuffer",
    "ToolHost",
    "TurnControl",
    "TurnOutcome",
    "TurnTools",
    "harmony_history",
    "prepare_turn",
    "prompt_settings",
    "run_turn",
    "run_unsaved",
    "sampling_options",
    "stream_reply",
    "stream_turn",
]
