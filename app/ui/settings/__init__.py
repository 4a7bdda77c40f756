"""App-wide settings (Settings…, Ctrl+Shift+,): one dialog, a page per area. Chat settings (the
panel beside the chat) keep what belongs to one chat."""
