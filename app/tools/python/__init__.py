"""The built-in ``python`` tool: a stateful Jupyter kernel per chat, in a sandbox.

``tool`` (the Tool), ``kernel`` (one kernel process and the Jupyter messages), ``sandbox`` (the
command that starts it under bubblewrap / sandbox-exec / nothing), ``launcher`` (runs inside
the sandbox: limits, then ipykernel), ``output`` (what the model and the user get).
Kept free of imports here: the launcher runs this package inside the sandbox.
"""
