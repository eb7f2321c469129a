"""glm-tui: a fast full-screen terminal chat client for GLM-4 and OpenAI-compatible servers."""

__version__ = "0.1.0"
