"""What editors upload: the article and author models, reading files into them, the JSON Schemas."""
