"""Importers: other systems' exports as Broadsheet content folders (articles, authors, media)."""
