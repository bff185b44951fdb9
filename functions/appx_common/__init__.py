"""Code shared by every Application X function.

The build copies this package next to each function's ``handler.py``; nothing here imports
Pulumi or ``components``.
"""
