"""Errors users see. Each carries an English and a Chinese message; the CLI prints one by ``--lang``."""

from __future__ import annotations

__all__ = ["SitingError", "ConfigError", "DataError", "NetworkError", "ModelError"]


class SitingError(Exception):
    """Base error. ``str(err)`` is the English text; ``err.message("zh")`` the Chinese.

    Parameters
    ----------
    en : str
        English message: what is wrong, where (file, row or id, column) and how to fix it.
    zh : str, optional
        The same in Chinese; falls back to ``en``.
    """

    def __init__(self, en: str, zh: str | None = None):
        super().__init__(en)
        self.en = en
        self.zh = zh or en

    def message(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en


class ConfigError(SitingError):
    """A project configuration value is missing, unknown or out of range."""


class DataError(SitingError):
    """An input layer is unreadable or breaks its schema."""


class NetworkError(SitingError):
    """The road network cannot be built or used (offline, empty, disconnected)."""


class ModelError(SitingError):
    """A location model was given inconsistent inputs."""
