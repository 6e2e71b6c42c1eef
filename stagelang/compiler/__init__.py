"""Checked policy to predicates: the Python code generator and the reference interpreter."""
