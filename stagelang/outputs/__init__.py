"""Renderers: the same results of `stagelang check`, in the shapes people and tools read."""
