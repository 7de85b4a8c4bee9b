"""The newsletter: signup with double opt-in, signed links, sealed addresses, and the digest.

Each function imports the modules it uses (the subscribe function never loads the digest).
"""
