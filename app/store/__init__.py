"""SQLite conversation store: schema + migrations, branching messages, search, export/import.

No Qt, no engine: the CLI, the GUI and ``app.chat`` all use it. See ``store.Store``.
"""

from app.store.errors import (
    CannotOpenError,
    DatabaseCorruptError,
    DatabaseLockedError,
    DatabaseNewerError,
    DiskFullError,
    ImportFormatError,
    InvalidRequestError,
    NotFoundError,
    ReadOnlyError,
    StoreError,
)
from app.store.migrations import SCHEMA_VERSION
from app.store.models import (
    MARK_END,
    MARK_START,
    UNTITLED,
    Conversation,
    Message,
    SearchHit,
    Siblings,
)
from app.store.store import Store
from app.store.streaming import SAVE_INTERVAL, StreamingWriter
from app.store.text import make_title
from app.store.transfer import (
    export_json,
    export_json_text,
    export_markdown,
    export_text,
    export_to_file,
    import_file,
)

__all__ = [
    "MARK_END",
    "MARK_START",
    "SAVE_INTERVAL",
    "SCHEMA_VERSION",
    "UNTITLED",
    "CannotOpenError",
    "Conversation",
    "DatabaseCorruptError",
    "DatabaseLockedError",
    "DatabaseNewerError",
    "DiskFullError",
    "ImportFormatError",
    "InvalidRequestError",
    "Message",
    "NotFoundError",
    "ReadOnlyError",
    "SearchHit",
    "Siblings",
    "Store",
    "StoreError",
    "StreamingWriter",
    "export_json",
    "export_json_text",
    "export_markdown",
    "export_text",
    "export_to_file",
    "import_file",
    "make_title",
]
