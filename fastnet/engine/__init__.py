"""The engine layer: the Python side's one way to the kernels.

``plan``: which engine runs each layer and pass, and on how many threads.
"""
