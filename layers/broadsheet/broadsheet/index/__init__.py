"""The index: its ports (what the stages read and write), listing entries, an in-memory index."""
