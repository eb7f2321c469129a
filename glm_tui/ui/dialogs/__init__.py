"""Dialogs: small modal screens, one module each. Every text they show from outside (a tool name,
a title, a URL, a command) is drawn literally through :mod:`glm_tui.ui.literal`.

Import each from its own module: this package imports nothing, so that opening one dialog (the
damaged-database one at start) does not load them all before the first frame.
"""
