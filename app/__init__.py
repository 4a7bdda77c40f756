"""Hearth: chat with gpt-oss on your own computer."""

__version__ = "0.1.0"
APP_NAME = "Hearth"
