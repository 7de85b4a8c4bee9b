"""Each function's runtime: the services it talks to, built once per container from the
settings, and the call its handler makes. A handler imports its own runtime module and nothing
else of the pipeline, so each function loads only its own stage and adapters.
"""
