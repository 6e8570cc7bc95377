"""An S3-compatible object store (AWS S3, MinIO, Ceph, Garage, ...) through boto3.

Credentials and region come from boto3's usual sources (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``, a profile or an instance role);
``S3_ENDPOINT_URL`` names a server other than AWS. An object appears whole when its
upload completes, so a reader never sees part of one.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import IO, Any

from balai.files import NoRoom
from balai.storage.base import Entry, NotFound, Stat, StorageError, Store, check_key

__all__ = ["S3Store"]

_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
#: What S3-compatible servers answer when a disk or a quota is full.
_FULL = frozenset(
    {"XMinioStorageFull", "XMinioAdminBucketQuotaExceeded", "QuotaExceeded", "StorageFull"}
)


class S3Store(Store):
    """Keys live under ``prefix`` in ``bucket``."""

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None) -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise RuntimeError(
                "STORAGE_URL names an S3 store: install the balai[s3] extra (boto3)"
            ) from exc
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        if self.prefix:
            check_key(self.prefix.rstrip("/"))
        self.endpoint_url = endpoint_url
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5),
        )

    def describe(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"s3://{self.bucket}/{self.prefix}{where}"

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, key: str, data: bytes | IO[bytes], *, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else {}
        with _errors(key):
            if isinstance(data, bytes | bytearray | memoryview):
                self.client.put_object(
                    Bucket=self.bucket, Key=self._key(key), Body=bytes(data), **extra
                )
            else:  # a stream: in parts if large, the object appears when all are there
                self.client.upload_fileobj(data, self.bucket, self._key(key), ExtraArgs=extra)

    def open(self, key: str) -> IO[bytes]:
        with _errors(key):
            found = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        body: IO[bytes] = found["Body"]
        return body

    def delete(self, key: str) -> None:
        with _errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def stat(self, key: str) -> Stat:
        with _errors(key):
            found = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        return Stat(
            found["ContentLength"], found["LastModified"].timestamp(), found["ETag"].strip('"')
        )

    def list(self, prefix: str) -> Iterator[Entry]:
        pages = self.client.get_paginator("list_objects_v2")
        with _errors(prefix):
            for page in pages.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                for item in page.get("Contents", ()):
                    yield Entry(
                        item["Key"][len(self.prefix) :],
                        item["Size"],
                        item["LastModified"].timestamp(),
                    )

    def url(self, key: str, *, expires: int = 300) -> str | None:
        with _errors(key):
            address: str = self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": self._key(key)},
                ExpiresIn=int(expires),
            )
        return address

    def check(self) -> None:
        try:
            with _errors(""):
                self.client.head_bucket(Bucket=self.bucket)
        except NotFound:
            raise StorageError(f"no bucket {self.bucket}") from None


class _errors:
    """Turn boto's exceptions into :class:`NotFound`, :class:`NoRoom`, :class:`StorageError`."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, _tb: Any) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _MISSING:
                raise NotFound(self.key) from None
            if code in _FULL:
                raise NoRoom(errno.ENOSPC, "no room left in the object store", self.key) from exc
            raise StorageError(f"S3 refused {self.key or 'the bucket'}: {code}") from exc
        if isinstance(exc, BotoCoreError):
            raise StorageError(f"S3 failed for {self.key or 'the bucket'}: {exc}") from exc
        return False
