"""Numba kernels for fastnet: arrays and scalars in, arrays out.

Nothing here imports ``fastnet``; the Python layer picks kernels and codes
by name and calls them.
"""
