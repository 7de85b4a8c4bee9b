"""Broadsheet: serverless publishing for news sites. The layer every function shares."""

__version__ = "0.1.0"
