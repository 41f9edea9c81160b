"""Synthetic experiments with known ground truth, and the `bsr demo` scenario built on them.

Clearly labelled generated data (procedural images, Poisson responses read out from a hidden network
layer), used by the demo and the tests; never presented as real recordings.
"""
