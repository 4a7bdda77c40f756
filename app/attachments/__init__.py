"""Files attached to a message (no Qt): their text for the model, a token estimate, the fenced
form in the user message, and a content-addressed copy in Hearth's data folder.

The composer calls ``attach(path)`` per file (an ``AttachmentError``'s text goes on the chip),
``plan(attachments, budget)`` before sending (what fits goes in full, the rest to the library
and the browser tool), stores ``[a.ref.to_dict() for a in …]`` with the message, and the turn
builds the model's user message with ``message_text(text, refs)``.
"""

from app.attachments.extract import AttachmentError, Extracted, extract_text, format_size
from app.attachments.fence import compose, fence, library_note
from app.attachments.plan import Attachment, Plan, attach, message_text, plan
from app.attachments.storage import AttachmentRef, load_text
from app.attachments.tokens import FIT_MARGIN, estimate_tokens, fits

__all__ = [
    "FIT_MARGIN",
    "Attachment",
    "AttachmentError",
    "AttachmentRef",
    "Extracted",
    "Plan",
    "attach",
    "compose",
    "estimate_tokens",
    "extract_text",
    "fence",
    "fits",
    "format_size",
    "library_note",
    "load_text",
    "message_text",
    "plan",
]
