"""Images: the media stage (publish an upload as renditions) and the imaging code it runs."""
