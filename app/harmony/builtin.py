"""gpt-oss's built-in tool namespaces, as openai/harmony declares them (``src/chat.rs``:
``ToolNamespaceConfig::browser`` and ``::python``; the same text is in the GGUF chat template's
``render_builtin_tools``). gpt-oss was trained on exactly these words: change only the parts
that must say something true about this machine (the timeout, the data folder, network access).
"""

from __future__ import annotations

from app.harmony.model import Tool, ToolNamespace

HARMONY_INTERNET = "UNKNOWN. Depends on the cluster."  # harmony's own wording
HARMONY_DRIVE = "/mnt/data"

_PYTHON_FIRST = (
    "Use this tool to execute Python code in your chain of thought. The code will not be shown "
    "to the user. This tool should be used for internal reasoning, but not for code that is "
    "intended to be visible to the user (e.g. when creating plots, tables, or files)."
)


def python_description(
    timeout_s: float = 120.0,
    drive: str | None = HARMONY_DRIVE,
    internet: str = HARMONY_INTERNET,
) -> str:
    """The ``## python`` text. The defaults give harmony's text byte for byte; ``drive=None``
    leaves the sentence about a persistent drive out."""
    second = (
        "When you send a message containing Python code to python, it will be executed in a "
        "stateful Jupyter notebook environment. python will respond with the output of the "
        f"execution or time out after {float(timeout_s)} seconds."
    )
    if drive:
        second += f" The drive at '{drive}' can be used to save and persist user files."
    second += f" Internet access for this session is {internet}"
    return f"{_PYTHON_FIRST}\n\n{second}"


def python_namespace(description: str | None = None) -> ToolNamespace:
    return ToolNamespace("python", python_description() if description is None else description)


BROWSER_DESCRIPTION = (
    "Tool for browsing.\n"
    "The `cursor` appears in brackets before each browsing display: `[{cursor}]`.\n"
    "Cite information from the tool using the following format:\n"
    "`【{cursor}†L{line_start}(-L{line_end})?】`, for example: `【6†L9-L11】` or `【8†L3】`.\n"
    "Do not quote more than 10 words directly from the tool output.\n"
    "sources=web (default: web)"
)


def browser_namespace(description: str = BROWSER_DESCRIPTION) -> ToolNamespace:
    """harmony's ``browser`` (search / open / find)."""
    return ToolNamespace(
        "browser",
        description,
        [
            Tool(
                "search",
                "Searches for information related to `query` and displays `topn` results.",
                {
                    "type": "object",
                    "properties": {
                        "query": {"type": "string"},
                        "topn": {"type": "number", "default": 10},
                        "source": {"type": "string"},
                    },
                    "required": ["query"],
                },
            ),
            Tool(
                "open",
                "Opens the link `id` from the page indicated by `cursor` starting at line number "
                "`loc`, showing `num_lines` lines.\n"
                "Valid link ids are displayed with the formatting: `【{id}†.*】`.\n"
                "If `cursor` is not provided, the most recent page is implied.\n"
                "If `id` is a string, it is treated as a fully qualified URL associated with "
                "`source`.\n"
                "If `loc` is not provided, the viewport will be positioned at the beginning of "
                "the document or centered on the most relevant passage, if available.\n"
                "Use this function without `id` to scroll to a new location of an opened page.",
                {
                    "type": "object",
                    "properties": {
                        "id": {"type": ["number", "string"], "default": -1},
                        "cursor": {"type": "number", "default": -1},
                        "loc": {"type": "number", "default": -1},
                        "num_lines": {"type": "number", "default": -1},
                        "view_source": {"type": "boolean", "default": False},
                        "source": {"type": "string"},
                    },
                },
            ),
            Tool(
                "find",
                "Finds exact matches of `pattern` in the current page, or the page given by "
                "`cursor`.",
                {
                    "type": "object",
                    "properties": {
                        "pattern": {"type": "string"},
                        "cursor": {"type": "number", "default": -1},
                    },
                    "required": ["pattern"],
                },
            ),
        ],
    )


# Authors of tool results that are not "functions.*": harmony's built-in namespaces.
BUILTIN_NAMESPACES = ("python", "browser")


def is_builtin_recipient(recipient: str) -> bool:
    """True for "python", "browser.search" and the like (no "functions." prefix in Harmony)."""
    return recipient.split(".", 1)[0] in BUILTIN_NAMESPACES
