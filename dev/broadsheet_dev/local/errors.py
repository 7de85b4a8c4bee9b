"""What reading template.yaml can go wrong with."""

from __future__ import annotations


class TemplateError(ValueError):
    """The template does not say what was asked, or says it in a way we cannot read."""
