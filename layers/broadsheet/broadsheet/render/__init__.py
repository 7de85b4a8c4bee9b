"""Pages as bytes: HTML with Jinja2, the article body, feeds, sitemaps and structured data."""
