"""Layer 1, data: what a dataset version *is*, before it is stored anywhere.

Identifiers and versions, controlled vocabularies, pydantic metadata, the canonical xarray forms of
stimulus sets and assemblies with their structural checks, the logical content hash, zarr I/O and the
re-hash that verifies a store. Imports nothing of the layers above.
"""
