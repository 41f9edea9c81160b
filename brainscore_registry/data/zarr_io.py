"""The on-disk format of every dataset version: a zarr v3 directory store.

Sharded (DVC is slow with many small files), zstd with its content checksum on (bit rot must raise,
not return wrong numbers), no consolidated metadata (not part of the v3 spec), strings as
variable-length UTF-8. Reading normalises every string variable to `object` dtype, whatever
dtype zarr hands back, so downstream code sees one string type.
"""

from __future__ import annotations

import itertools
import math
import os
import sys
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import google_crc32c
import numpy as np
import xarray as xr
import zarr
from numcodecs import Zstd
from zarr.codecs import ZstdCodec
from zarr.core.indexing import morton_order_iter

from .hashing import is_string_dtype

ZSTD_LEVEL = 3
FAST_ZSTD_LEVEL = -1  # zstd's fast mode: for large float arrays that level 3 barely shrinks (see `zstd_level`)
WORTH_COMPRESSING = 0.9  # level 3 must bring a sample below this fraction of its size to be worth its time
SAMPLE_CHUNKS = 4
CHUNK_BYTES = 4 << 20
SHARD_BYTES = 32 << 20  # ~32 shards per GB: few files for DVC, enough to keep both cores busy
PARALLEL_BYTES = 64 << 20  # data variables at least this large are written shard-parallel
WRITE_THREADS = 0  # shard writers; 0: one per core, plus one
CODEC_BATCH = 16  # inner chunks of a shard encoded/decoded concurrently (zarr's default, 1, is serial)


@contextmanager
def io_settings() -> Iterator[None]:
    """zarr settings for bulk reads and writes of our stores (measured in perf/register.py)."""
    with zarr.config.set({"codec_pipeline.batch_size": CODEC_BATCH}):
        yield


def _compressors(level: int = ZSTD_LEVEL) -> list:
    return [ZstdCodec(level=level, checksum=True)]


def zstd_level(values: np.ndarray, chunk: tuple[int, ...]) -> int:
    """The zstd level of a large floating-point array: level 3 when it pays, i.e. when it brings a sample of the
    array's chunks (first, last and evenly between) below 90% of their size; else zstd's fast level,
    which leaves near-incompressible data (noisy floating-point recordings) about as large, writes it
    1.5× faster and decodes it faster on every load. The level is in the array's metadata, and the
    choice depends only on the values, so the same data always give the same bytes."""
    rows, n = chunk[0], values.shape[0]
    starts = sorted({min(n - 1, round(i * (n - 1) / max(1, SAMPLE_CHUNKS - 1))) // rows * rows for i in range(SAMPLE_CHUNKS)})
    codec = Zstd(level=ZSTD_LEVEL, checksum=True)
    raw = packed = 0
    for start in starts:
        piece = np.ascontiguousarray(values[(slice(start, start + rows), *(slice(0, c) for c in chunk[1:]))])
        raw += piece.nbytes
        packed += len(codec.encode(piece))
    return ZSTD_LEVEL if packed < WORTH_COMPRESSING * raw else FAST_ZSTD_LEVEL


def chunk_layout(shape: tuple[int, ...], itemsize: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(inner chunk, shard) shapes: ~4 MB chunks split along the leading axes, ~32 MB shards
    stacked along the first axis. Shards are whole multiples of chunks, as zarr requires."""
    shape = tuple(max(1, s) for s in shape)
    chunk = list(shape)
    for axis in range(len(shape)):
        rest = math.prod(chunk[axis + 1 :]) * itemsize
        if rest * chunk[axis] <= CHUNK_BYTES:
            break
        chunk[axis] = max(1, CHUNK_BYTES // max(1, rest))
        if chunk[axis] > 1:
            break
    shard = [math.ceil(s / c) * c for s, c in zip(shape, chunk)]
    chunk_bytes = math.prod(chunk) * itemsize
    per_shard = max(1, SHARD_BYTES // max(1, chunk_bytes * math.prod(s // c for s, c in zip(shard[1:], chunk[1:]))))
    shard[0] = min(shard[0], chunk[0] * per_shard)
    return tuple(chunk), tuple(shard)


def _prepare(ds: xr.Dataset) -> tuple[xr.Dataset, dict]:
    ds = ds.drop_encoding()
    strings = {n: v.astype(object) for n, v in ds.variables.items() if is_string_dtype(v.dtype) and v.dtype != object}
    if strings:
        ds = ds.assign_coords({n: v for n, v in strings.items() if n in ds.coords})
        ds = ds.assign({n: v for n, v in strings.items() if n in ds.data_vars})
    encoding = {}
    for name, variable in ds.variables.items():
        spec: dict = {"compressors": _compressors()}
        if variable.ndim and not is_string_dtype(variable.dtype):
            chunks, shards = chunk_layout(variable.shape, variable.dtype.itemsize)
            spec.update(chunks=chunks, shards=shards)
            if _written_in_parallel(name, variable, ds) and variable.dtype.kind == "f":  # recordings; image bytes keep level 3
                spec["compressors"] = _compressors(zstd_level(np.asarray(variable.values), chunks))
        encoding[name] = spec
    return ds, encoding


def _written_in_parallel(name: object, variable: xr.Variable, ds: xr.Dataset) -> bool:
    """Large numeric data variables are written shard-parallel (and get their zstd level chosen)."""
    return name in ds.data_vars and variable.nbytes >= PARALLEL_BYTES and not is_string_dtype(variable.dtype)


def write_store(ds: xr.Dataset, path: str | Path) -> None:
    """Write `ds` as a new zarr v3 store at `path` (which must not exist). Large numeric data
    variables are written shard by shard on all cores; xarray writes the rest."""
    ds, encoding = _prepare(ds)
    large = [str(n) for n, v in ds.data_vars.items() if _written_in_parallel(n, v, ds)]
    with warnings.catch_warnings(), io_settings():
        # zarr notes that variable-length strings have no finalised v3 extension spec yet; the
        # encoding is stable in zarr-python >= 3 and the hash never depends on it.
        warnings.filterwarnings("ignore", message=".*does not have a Zarr V3 specification.*")
        ds.drop_vars(large).to_zarr(
            path, mode="w-", zarr_format=3, consolidated=False, encoding={k: v for k, v in encoding.items() if k not in large}
        )
        group = zarr.open_group(path, mode="r+", zarr_format=3, use_consolidated=False)
        for name in large:
            _write_shards_in_parallel(group, name, ds[name].variable, encoding[name])
    sync_tree(path)


def _write_shards_in_parallel(group: zarr.Group, name: str, variable: xr.Variable, spec: dict) -> None:
    """The array as xarray would declare it (dimension names, attributes; no fill-value masking),
    its shards encoded concurrently: zstd releases the GIL, so this scales with cores. Shard files
    are written directly (`_encode_shard`), byte for byte what zarr-python writes, when the layout
    allows; zarr-python writes them otherwise."""
    array = group.create_array(
        name,
        shape=variable.shape,
        dtype=variable.dtype,
        chunks=spec["chunks"],
        shards=spec["shards"],
        compressors=spec["compressors"],
        fill_value=np.zeros((), variable.dtype)[()],
        dimension_names=list(variable.dims),
        attributes=dict(variable.attrs),
    )
    values, rows = np.asarray(variable.values), spec["shards"][0]
    root = _array_dir(group, name)
    sharding = _direct_layout(values, array) if root is not None else None
    if sharding is not None:
        write = _direct_shard_writer(array, values, root, sharding)
        jobs = list(itertools.product(*(range(math.ceil(n / s)) for n, s in zip(values.shape, array.shards))))
    else:

        def write(start: int) -> None:
            array[start : start + rows] = values[start : start + rows]

        jobs = range(0, variable.shape[0], rows)
    # one worker more than cores: a shard being fsynced waits on the disk, not on a core
    with ThreadPoolExecutor(max_workers=WRITE_THREADS or (os.cpu_count() or 1) + 1) as pool:
        list(pool.map(write, jobs))


MAX_UINT_64 = 2**64 - 1  # an empty slot in a shard index


def _array_dir(group: zarr.Group, name: str) -> Path | None:
    """The directory of array `name` in a local directory store, else None (no direct writes)."""
    root = getattr(group.store, "root", None)
    if not isinstance(group.store, zarr.storage.LocalStore) or root is None:
        return None
    return Path(root) / group.path / name if group.path else Path(root) / name


def _direct_layout(values: np.ndarray, array: zarr.Array):
    """The layout `_encode_shard` reproduces exactly: numeric little-endian values, bytes → zstd(checksum) inner chunks, the shard
    index at the end checksummed by crc32c, all-zero chunks left out (zarr's `write_empty_chunks=False`
    with fill value 0): the array's sharding codec, or None when anything else must go through zarr-python."""
    from zarr.codecs import BytesCodec, Crc32cCodec, ShardingCodec

    metadata = array.metadata
    codecs = getattr(metadata, "codecs", ())
    if sys.byteorder != "little" or values.dtype.kind not in "biuf" or values.dtype.byteorder == ">" or values.ndim == 0:
        return None
    if len(codecs) != 1 or not isinstance(codecs[0], ShardingCodec):
        return None
    sharding = codecs[0]
    inner, index = list(sharding.codecs), list(sharding.index_codecs)
    exact = (
        sharding.index_location.value == "end"
        and len(inner) == 2
        and isinstance(inner[0], BytesCodec)
        and getattr(inner[0].endian, "value", "little") == "little"
        and isinstance(inner[1], ZstdCodec)
        and inner[1].checksum
        and len(index) == 2
        and isinstance(index[0], BytesCodec)
        and getattr(index[0].endian, "value", "little") == "little"
        and isinstance(index[1], Crc32cCodec)
        and tuple(metadata.chunk_grid.chunk_shape) == tuple(array.shards or ())
        and not array.config.write_empty_chunks
        and bool(np.zeros((), values.dtype) == array.metadata.fill_value)
        and all(s % c == 0 for s, c in zip(array.shards, sharding.chunk_shape))
    )
    return sharding if exact else None


def _encode_shard(block: np.ndarray, chunk: tuple[int, ...], level: int) -> list[bytes] | None:
    """A full shard's bytes as zarr-python's sharding codec writes them: the inner chunks in Morton
    order, each the little-endian C-order bytes compressed by zstd with its checksum, chunks whose
    bytes are all zero (the fill value) left out, then the index of (offset, length) pairs as
    little-endian uint64 followed by its crc32c. None when every chunk is empty (no file)."""
    per_shard = tuple(s // c for s, c in zip(block.shape, chunk))
    index = np.full((*per_shard, 2), MAX_UINT_64, dtype="<u8")
    codec, pieces, offset = Zstd(level=level, checksum=True), [], 0
    for coords in morton_order_iter(per_shard):
        piece = np.ascontiguousarray(block[tuple(slice(i * c, (i + 1) * c) for i, c in zip(coords, chunk))])
        if not piece.view(np.uint8).any():
            continue
        data = codec.encode(piece)
        index[coords] = (offset, len(data))
        offset += len(data)
        pieces.append(data)
    if not pieces:
        return None
    index_bytes = index.tobytes()
    return [*pieces, index_bytes, np.uint32(google_crc32c.value(index_bytes)).astype("<u4").tobytes()]


def _direct_shard_writer(array: zarr.Array, values: np.ndarray, root: Path, sharding):
    """write(shard coordinates): encode that shard of `values` (padded with the fill value where the
    array ends), write it to its file and fsync it, so disk writes overlap the other shards' encoding."""
    chunk, shard, level = tuple(sharding.chunk_shape), tuple(array.shards), sharding.codecs[1].level

    def write(coords: tuple[int, ...]) -> None:
        region = tuple(slice(i * s, min((i + 1) * s, n)) for i, s, n in zip(coords, shard, values.shape))
        block = values[region]
        if block.shape != shard:
            padded = np.zeros(shard, dtype=values.dtype)
            padded[tuple(slice(0, n) for n in block.shape)] = block
            block = padded
        pieces = _encode_shard(block, chunk, level)
        if pieces is None:
            return
        path = root / array.metadata.encode_chunk_key(coords)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "xb") as fh:
            for piece in pieces:
                fh.write(piece)
            fh.flush()
            os.fsync(fh.fileno())

    return write


def sync_tree(path: str | Path) -> None:
    """fsync every file and directory of a store, so that a rename published afterwards can never
    point at data still only in the page cache (a power cut must not leave a half-empty version)."""
    paths = (
        [Path(path)]
        if Path(path).is_file()
        else [Path(root) / name for root, _, names in os.walk(path) for name in [*names, "."]]
    )
    for item in paths:
        fd = os.open(item, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def open_store(path: str | Path) -> xr.Dataset:
    """Lazily open a store (zarr v2 or v3): values are read only when indexed."""
    return xr.open_dataset(path, engine="zarr", consolidated=False, chunks=None)


def normalize_strings(ds: xr.Dataset) -> xr.Dataset:
    """Every string variable as `object` dtype (zarr returns `StringDType` or `<U`)."""
    converted = {n: v.astype(object) for n, v in ds.variables.items() if is_string_dtype(v.dtype) and v.dtype != object}
    if not converted:
        return ds
    ds = ds.assign_coords({n: v for n, v in converted.items() if n in ds.coords})
    return ds.assign({n: v for n, v in converted.items() if n in ds.data_vars})


def read_store(path: str | Path) -> xr.Dataset:
    """Open and load a store into memory, strings normalised to `object`."""
    with open_store(path) as ds, io_settings():
        return normalize_strings(ds.load())


def store_size(path: str | Path) -> tuple[int, int]:
    """(number of files, bytes on disk) of a directory store."""
    files = size = 0
    for root, _, names in os.walk(path):
        for name in names:
            files += 1
            size += os.path.getsize(os.path.join(root, name))
    return files, size


def uncompressed_bytes(ds: xr.Dataset) -> int:
    return int(sum(np.dtype(v.dtype).itemsize * v.size for v in ds.variables.values()))
