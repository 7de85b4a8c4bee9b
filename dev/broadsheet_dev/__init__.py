"""Broadsheet off Lambda: the local stack, the local edge server and the operator CLI.

Nothing here is shipped to Lambda; the `broadsheet` layer package never imports it.
"""
