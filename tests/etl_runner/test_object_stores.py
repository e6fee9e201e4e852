"""GCS, S3 and Azure Blob file sources against fake-gcs-server, moto and Azurite."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_runner.config import RunOptions, SourceConfig, TableConfig
from etl_runner.extract.base import SourceError, get_source
from etl_runner.extract.files import AzureBlobFileSource, GCSFileSource, S3FileSource


@dataclass
class Store:
    """One emulated bucket: how to put an object and the source config pointing at it."""

    kind: str
    put: Callable[[str, bytes], None]
    params: dict[str, Any]
    secrets: dict[str, str]


def _gcs(emu) -> Store:
    name = f"b-{uuid.uuid4().hex[:8]}"
    bucket = emu.create_bucket(name)
    return Store(
        "gcs",
        lambda key, data: bucket.blob(key).upload_from_string(data),
        {"bucket_path": f"gs://{name}/root", "endpoint_url": emu.endpoint, "project_id": "test-proj"},
        {},
    )


def _s3(emu) -> Store:
    name = f"b-{uuid.uuid4().hex[:8]}"
    emu.create_bucket(name)
    client = emu.client()
    return Store(
        "s3",
        lambda key, data: client.put_object(Bucket=name, Key=key, Body=data),
        {"bucket_path": f"s3://{name}/root", "endpoint_url": emu.endpoint_url, "aws_region": emu.region},
        {"aws_access_key_id": emu.access_key_id, "aws_secret_access_key": emu.secret_access_key},
    )


def _azure(emu) -> Store:
    name = f"c-{uuid.uuid4().hex[:8]}"
    container = emu.create_container(name)
    return Store(
        "azure_blob",
        lambda key, data: container.upload_blob(key, data, overwrite=True),
        {"bucket_path": f"az://{name}/root", "azure_storage_account": emu.account_name, "endpoint_url": emu.endpoint},
        {"azure_account_key": emu.account_key},
    )


@pytest.fixture(params=["gcs", "s3", "azure_blob"])
def store(request) -> Store:
    if request.param == "gcs":
        return _gcs(request.getfixturevalue("gcs_emulator"))
    if request.param == "s3":
        return _s3(request.getfixturevalue("s3_emulator"))
    return _azure(request.getfixturevalue("azurite"))


def make_table(fmt: str, prefix: str = "", pattern: str = "*") -> TableConfig:
    return TableConfig(
        table_id=1, dest_dataset="raw", dest_table="t", file={"prefix": prefix, "pattern": pattern, "format": fmt}
    )


def open_source(store: Store, batch_size: int = 1000):
    cls = get_source(store.kind)
    return cls(
        SourceConfig(kind=store.kind, params=store.params, secrets=store.secrets), RunOptions(batch_size=batch_size)
    )


def parquet_bytes(table: pa.Table, **kwargs) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, **kwargs)
    return buf.getvalue()


def test_registry_points_cloud_kinds_at_file_sources():
    assert get_source("gcs") is GCSFileSource
    assert get_source("s3") is S3FileSource
    assert get_source("azure_blob") is AzureBlobFileSource


def test_list_files_with_prefix_pattern_size_version_and_mtime(store):
    store.put("root/sales/a.csv", b"id\n1\n")
    store.put("root/sales/2024/b.csv", b"id\n2\n3\n")
    store.put("root/sales/readme.txt", b"x")
    store.put("root/other/c.csv", b"id\n4\n")
    store.put("outside/sales/d.csv", b"id\n5\n")
    source = open_source(store)
    files = source.list_files(make_table("csv", prefix="sales/", pattern="*.csv"))
    keys = [f.path.split("/", 3)[3] for f in files]
    assert keys == ["root/sales/2024/b.csv", "root/sales/a.csv"]
    assert files[0].size == 7
    assert files[0].path.startswith({"gcs": "gs://", "s3": "s3://", "azure_blob": "az://"}[store.kind])
    assert files[0].modified_at and files[0].modified_at.endswith("+00:00")
    assert files[0].generation or files[0].etag


def test_read_csv_and_parquet_streamed_in_batches(store):
    data = pa.table({"id": list(range(5000)), "name": [f"n{i}" for i in range(5000)]})
    store.put("root/p/data.parquet", parquet_bytes(data, row_group_size=1200))
    csv_text = "id;name\n" + "".join(f"{i};n{i}\n" for i in range(3000))
    store.put("root/c/data.csv", csv_text.encode())
    source = open_source(store, batch_size=1000)

    ptable = make_table("parquet", prefix="p/")
    [pfile] = source.list_files(ptable)
    batches = list(source.read_file(ptable, pfile))
    assert max(b.num_rows for b in batches) <= 1000
    assert pa.Table.from_batches(batches).equals(data)

    ctable = TableConfig(
        table_id=2, dest_dataset="raw", dest_table="c",
        file={"prefix": "c/", "format": "csv", "options": {"delimiter": ";"}},
    )  # fmt: skip
    [cfile] = source.list_files(ctable)
    result = pa.Table.from_batches(list(source.read_file(ctable, cfile)))
    assert result.num_rows == 3000 and result.column("name")[2999].as_py() == "n2999"


def test_object_replaced_after_listing_is_not_read_as_a_mix(store):
    store.put("root/v/x.csv", b"id\n1\n")
    source = open_source(store)
    table = make_table("csv", prefix="v/")
    [listed] = source.list_files(table)
    store.put("root/v/x.csv", b"id\n1\n2\n3\n")
    [relisted] = source.list_files(table)
    assert not listed.same_version(relisted)
    with pytest.raises(SourceError, match="x.csv"):
        list(source.read_file(table, listed))
    assert pa.Table.from_batches(list(source.read_file(table, relisted))).num_rows == 3


def test_broken_parquet_object_names_the_file(store):
    store.put("root/broken/bad.parquet", b"PAR1 definitely not parquet")
    source = open_source(store)
    table = make_table("parquet", prefix="broken/")
    [file] = source.list_files(table)
    with pytest.raises(SourceError, match="bad.parquet"):
        list(source.read_file(table, file))


def test_malformed_bucket_path_is_a_source_error(store):
    params = {**store.params, "bucket_path": "ftp://x/y"}
    with pytest.raises(SourceError):
        get_source(store.kind)(SourceConfig(kind=store.kind, params=params, secrets=store.secrets), RunOptions())


def test_azure_connection_string_credentials(azurite):
    name = f"c-{uuid.uuid4().hex[:8]}"
    azurite.create_container(name).upload_blob("in/x.csv", b"id\n1\n")
    cfg = SourceConfig(
        kind="azure_blob",
        params={"bucket_path": f"az://{name}/in"},
        secrets={"connection_string": azurite.connection_string},
    )
    source = AzureBlobFileSource(cfg, RunOptions())
    [file] = source.list_files(make_table("csv"))
    assert file.path == f"az://{name}/in/x.csv" and file.etag
    assert pa.Table.from_batches(list(source.read_file(make_table("csv"), file))).num_rows == 1


def test_s3_missing_bucket_gives_a_readable_error(s3_emulator):
    params = {
        "bucket_path": "s3://does-not-exist/x",
        "endpoint_url": s3_emulator.endpoint_url,
        "aws_region": "us-east-1",
    }
    cfg = SourceConfig(kind="s3", params=params, secrets={"aws_access_key_id": "a", "aws_secret_access_key": "b"})
    with pytest.raises(SourceError, match="could not list files"):
        S3FileSource(cfg, RunOptions()).list_files(make_table("csv"))
