"""Tools the model may call during a turn (no Qt): the built-in ``python`` (a sandboxed Jupyter
kernel per chat), ``browser`` (the user's own documents, offline) and function tools from MCP
servers. ``app.chat`` runs them in its tool loop; see ``app.tools.base`` for the contract."""
