"""The logical content hash: the identity of a dataset, independent of how it is stored.

    digest = sha256( SCHEME_TAG || canonical_json(header) )
    header = {"attrs": dataset attrs, "dims": {dim: size},
              "variables": {name (sorted): {"dims", "shape", "dtype", "attrs", "coord", "sha256"}}}

Each variable's sha256 covers its values in C order, little-endian, read in slabs along the first
axis (so neither chunking nor sharding nor the zarr format can change it). Every NaN is hashed as
one canonical NaN; -0.0 and 0.0 stay distinct. Strings, whatever their storage dtype (`<U`,
object, `StringDType`), are hashed as an unsigned 64-bit little-endian length followed by UTF-8.
Dtypes are written canonically ("f4", "i8", "u1", "b1", "utf8"). Canonical JSON is RFC 8785.
"""

from __future__ import annotations

import hashlib
import math
import mmap
import os
import struct
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
import rfc8785

if TYPE_CHECKING:  # xarray is imported where a dataset is hashed: canonical JSON alone must stay cheap
    import xarray as xr

SCHEME_TAG = b"bsr-logical-v1\x00"
SLAB_BYTES = 64 << 20


def to_jsonable(value: object, where: str = "value") -> object:
    """Plain JSON types from numpy scalars, arrays and tuples; refuses NaN and infinities,
    which JSON cannot represent."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist(), where)
    if isinstance(value, np.generic):
        return to_jsonable(value.item(), where)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where} is {value}, which JSON cannot represent")
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise ValueError(f"{where} has type {type(value).__name__}, which JSON cannot represent")


def canonical_json(value: object) -> bytes:
    """RFC 8785 (JCS) canonical JSON bytes: sorted keys, no whitespace, shortest floats."""
    return rfc8785.dumps(to_jsonable(value))


def is_string_dtype(dtype: np.dtype) -> bool:
    return dtype.kind in ("U", "O", "T", "S")


def canonical_dtype(dtype: np.dtype) -> str:
    if is_string_dtype(dtype):
        return "utf8"
    if dtype.kind in "biuf":
        return f"{dtype.kind}{dtype.itemsize}"
    raise TypeError(f"dtype {dtype} is not supported (use numbers, booleans or strings)")


def _update_numeric(h: "hashlib._Hash", block: np.ndarray) -> None:
    block = np.ascontiguousarray(block)
    if block.dtype.byteorder == ">":
        block = block.astype(block.dtype.newbyteorder("<"))
    # max() propagates NaN, so it finds whether there is one without a boolean array the size of the block
    if block.dtype.kind == "f" and block.size and np.isnan(block.max()):
        block = np.where(np.isnan(block), block.dtype.type(np.nan), block)
    h.update(memoryview(block).cast("B"))


def _update_strings(h: "hashlib._Hash", block: np.ndarray) -> None:
    for item in np.asarray(block, dtype=object).ravel(order="C"):
        if isinstance(item, bytes):
            item = item.decode("utf-8")
        if not isinstance(item, str):
            raise TypeError(f"expected a string, found {item!r} ({type(item).__name__})")
        data = item.encode("utf-8")
        h.update(struct.pack("<Q", len(data)))
        h.update(data)


def _slabs(variable: xr.Variable, slab_bytes: int) -> Iterator[np.ndarray]:
    """C-order slabs along the first axis, so memory stays bounded for lazy (dask) variables."""
    if variable.ndim == 0:
        yield np.asarray(variable.values)
        return
    row_bytes = max(1, math.prod(variable.shape[1:])) * max(variable.dtype.itemsize, 8)
    step = max(1, slab_bytes // row_bytes)
    starts = range(0, variable.shape[0], step)
    if len(starts) <= 1:
        yield np.asarray(variable.values)
        return
    # read (and decompress) the next slab while this one is hashed: both release the GIL
    with ThreadPoolExecutor(max_workers=1) as reader:
        pending = reader.submit(lambda s: np.asarray(variable[s : s + step].values), starts[0])
        for following in [*starts[1:], None]:
            slab = pending.result()
            if following is not None:
                pending = reader.submit(lambda s: np.asarray(variable[s : s + step].values), following)
            yield slab


def variable_digest(variable: xr.Variable, slab_bytes: int = SLAB_BYTES, on_bytes: Callable[[int], None] | None = None) -> str:
    h = hashlib.sha256()
    update = _update_strings if is_string_dtype(variable.dtype) else _update_numeric
    for slab in _slabs(variable, slab_bytes):
        update(h, slab)
        if on_bytes:
            on_bytes(slab.nbytes)
    return h.hexdigest()


def logical_hash(
    obj: xr.Dataset | xr.DataArray, *, slab_bytes: int = SLAB_BYTES, on_bytes: Callable[[int], None] | None = None
) -> str:
    """`sha256:<64 hex>` identity of a dataset's values, coordinates and attributes."""
    import xarray as xr

    ds = obj.to_dataset(name=obj.name or "__data__") if isinstance(obj, xr.DataArray) else obj
    variables = {}
    for name in sorted(str(n) for n in ds.variables):
        variable = ds.variables[name]
        variables[name] = {
            "dims": list(variable.dims),
            "shape": list(variable.shape),
            "dtype": canonical_dtype(variable.dtype),
            "attrs": dict(variable.attrs),
            "coord": name in ds.coords,
            "sha256": variable_digest(variable, slab_bytes, on_bytes),
        }
    header = {"attrs": dict(ds.attrs), "dims": {str(k): int(v) for k, v in ds.sizes.items()}, "variables": variables}
    h = hashlib.sha256(SCHEME_TAG)
    h.update(canonical_json(header))
    return f"sha256:{h.hexdigest()}"


MAP_WINDOW = 1 << 26  # 64 MiB: a multiple of every platform's mmap offset granularity


def file_digest(path, algorithm: str = "sha256") -> str:
    """A file's hex digest, read through memory maps of 64 MiB windows: the hash reads the page cache
    directly, with no copy into a buffer (hashlib releases the GIL on large buffers, so threads hashing
    files scale with cores: see file_digests), and each window is unmapped before the next, so hashing
    a file of many gigabytes adds at most one window to the process's resident memory. sha1 is for
    formats that pin files by it (Brain-Score's brainio packages)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        for offset in range(0, size, MAP_WINDOW):
            length = min(MAP_WINDOW, size - offset)
            with mmap.mmap(fh.fileno(), length, access=mmap.ACCESS_READ, offset=offset) as mapped:
                digest.update(mapped)
    return digest.hexdigest()


def file_sha256(path) -> str:
    return file_digest(path, "sha256")
