"""The tools one turn may use, built from the settings, and running a call with consent.

    box = Toolbox.for_chat(conversation_id)          # python (if on) + connected MCP servers
    prompt = box.apply(prompt_settings)              # system "# Tools" + developer functions
    ...the model stops on <|call|> with a ToolCall...
    result = box.run(call, ask=confirm, cancel=stop) # never raises
    messages.append(result_message(call, result))    # app.tools.base

``ask(call, key)`` is the consent callback (the GUI shows the code / arguments with Run and
Don't run; it returns True to run). It is called only when the tool's mode is "ask".
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from app.harmony.model import PromptSettings, ToolNamespace
from app.harmony.model import Tool as HarmonyTool
from app.library.browser_tool import BrowserTool
from app.tools import workspace
from app.tools.base import Tool, ToolCall, ToolContext, ToolResult, failure
from app.tools.mcp.tool import HUB, McpHub, McpServerTool
from app.tools.python.tool import POOL, KernelPool, PythonTool
from app.tools.settings import Mode, ToolSettings

AskFn = Callable[[ToolCall, str], bool]


@dataclass
class Toolbox:
    conversation_id: int | None
    work_dir: Path
    output_dir: Path
    settings: ToolSettings
    python: PythonTool | None = None
    servers: list[McpServerTool] = field(default_factory=list)
    # The chat's documents (app.chat.documents): offered when the chat has any. Allowing a
    # folder for the chat is the user's consent; its calls run without asking.
    browser: BrowserTool | None = None
    problems: dict[str, str] = field(default_factory=dict)  # "python" / server -> why not

    @classmethod
    def for_chat(
        cls,
        conversation_id: int | None,
        settings: ToolSettings | None = None,
        *,
        work_dir: Path | None = None,
        output_dir: Path | None = None,
        hub: McpHub = HUB,
        pool: KernelPool = POOL,
        cancel: threading.Event | None = None,
        browser: BrowserTool | None = None,
    ) -> Toolbox:
        """The tools enabled for this chat. Starts the enabled MCP servers that are not running
        yet (side by side; a server that fails is left out and named in ``problems``)."""
        settings = settings or ToolSettings.load()
        box = cls(
            conversation_id,
            work_dir or workspace.work_dir(conversation_id),
            output_dir or workspace.output_dir(conversation_id),
            settings,
            browser=browser,
        )
        if settings.mode_for("python", conversation_id) != "off":
            tool = PythonTool(settings.python, pool)
            status = tool.status()
            if status.available:
                box.python = tool
            else:
                box.problems["python"] = status.message
        configs = [
            c
            for c in settings.servers.values()
            if settings.mode_for(f"mcp:{c.name}", conversation_id) != "off"
        ]
        if configs:
            box.servers, statuses = hub.tools_for(configs, cancel)
            ready = {s.name for s in box.servers}
            box.problems.update({n: st for n, st in statuses.items() if n not in ready})
        return box

    # -- the prompt ------------------------------------------------------------------------------

    @property
    def builtin_namespaces(self) -> list[ToolNamespace]:
        """For ``PromptSettings.builtin_tools`` (the system message)."""
        spaces = [self.python.namespace(self.work_dir)] if self.python is not None else []
        return spaces + ([self.browser.namespace] if self.browser is not None else [])

    @property
    def functions(self) -> list[HarmonyTool]:
        """For ``PromptSettings.tools`` (the developer message's ``functions`` namespace)."""
        return [f for server in self.servers for f in server.functions()]

    def apply(self, prompt: PromptSettings) -> PromptSettings:
        """A copy of ``prompt`` that declares these tools (keeping functions already there)."""
        return replace(
            prompt,
            builtin_tools=self.builtin_namespaces,
            tools=[*prompt.tools, *self.functions],
        )

    @property
    def empty(self) -> bool:
        return self.python is None and not self.servers and self.browser is None

    # -- calls -----------------------------------------------------------------------------------

    def find(self, recipient: str) -> Tool | None:
        if self.python is not None and self.python.handles(recipient):
            return self.python
        if self.browser is not None and self.browser.handles(recipient):
            return self.browser
        for server in self.servers:
            if server.handles(recipient):
                return server
        return None

    def key_for(self, tool: Tool) -> str:
        return tool.key if isinstance(tool, McpServerTool) else tool.name

    def mode_for(self, recipient: str) -> Mode:
        tool = self.find(recipient)
        return "off" if tool is None else self._mode(tool)

    def _mode(self, tool: Tool) -> Mode:
        if tool is self.browser:
            return "auto"
        return self.settings.mode_for(self.key_for(tool), self.conversation_id)

    def context(self, cancel: threading.Event | None = None) -> ToolContext:
        return ToolContext(
            work_dir=self.work_dir,
            conversation_id=self.conversation_id,
            cancel=cancel or threading.Event(),
            output_dir=self.output_dir,
        )

    def run(
        self,
        call: ToolCall,
        ask: AskFn | None = None,
        cancel: threading.Event | None = None,
    ) -> ToolResult:
        """Run one call under the chat's consent policy. Never raises."""
        tool = self.find(call.recipient)
        if tool is None:
            offered = ", ".join(self.offered()) or "none"
            return failure(
                "unavailable",
                f"There is no tool named '{call.recipient}' in this chat (available: {offered}).",
            )
        key = self.key_for(tool)
        mode = self._mode(tool)
        if mode == "off":
            return failure("refused", f"The user has not enabled '{call.recipient}' in this chat.")
        if mode == "ask":
            try:
                allowed = ask is not None and bool(ask(call, key))
            except Exception:  # a broken consent dialog must not run the code
                allowed = False
            if not allowed:
                return failure("refused", "The user declined to run this call.")
        try:
            return tool.run(call, self.context(cancel))
        except Exception as exc:  # a tool bug is a result, never a crashed turn
            return failure("unavailable", f"The tool failed unexpectedly: {exc!r}.")

    def offered(self) -> list[str]:
        names = ["python"] if self.python is not None else []
        if self.browser is not None:
            names += ["browser.search", "browser.open", "browser.find"]
        return names + [f"functions.{f.name}" for f in self.functions]
