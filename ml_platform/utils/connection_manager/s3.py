"""Amazon S3 (and S3-compatible endpoints) source: objects under s3://bucket/prefix via boto3."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ml_platform.utils.connection_manager.base import (
    CONNECT_TIMEOUT_SECONDS,
    MAX_LISTED_FILES,
    READ_TIMEOUT_SECONDS,
    SourceNotFound,
    TestResult,
)
from ml_platform.utils.connection_manager.files import BucketFileAdapter

READABLE_CODES = {
    "NoSuchBucket": "Bucket not found: s3://{bucket}.",
    "404": "Bucket or object not found in s3://{bucket}.",
    "NoSuchKey": "Object not found in s3://{bucket}.",
    "AccessDenied": "Access denied to s3://{bucket}.",
    "403": "Access denied to s3://{bucket}.",
    "InvalidAccessKeyId": "The AWS access key id was not recognised.",
    "SignatureDoesNotMatch": "The AWS secret access key does not match the access key id.",
}


class S3Adapter(BucketFileAdapter):
    """boto3 with short timeouts and at most two attempts; ranged GETs for samples."""

    kind = "s3"
    scheme = "s3"


    def client(self):
        if self._client is None:
            import boto3
            from botocore.config import Config

            config = Config(connect_timeout=CONNECT_TIMEOUT_SECONDS, read_timeout=READ_TIMEOUT_SECONDS,
                            retries={"max_attempts": 2, "mode": "standard"})
            self._client = boto3.session.Session().client(
                "s3", region_name=self.params.get("aws_region") or "us-east-1",
                endpoint_url=self.params.get("endpoint_url") or None, config=config,
                aws_access_key_id=self.secrets.get("aws_access_key_id"),
                aws_secret_access_key=self.secrets.get("aws_secret_access_key"))
        return self._client

    def call(self, fn, *args, **kwargs):
        """Run one boto3 call, turning its errors into readable SourceErrors."""
        from botocore import exceptions as bexc

        try:
            return fn(*args, **kwargs)
        except bexc.ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            template = READABLE_CODES.get(code)
            if code in ("NoSuchBucket", "404", "NoSuchKey"):
                raise SourceNotFound(template.format(bucket=self.bucket_name)) from None
            message = template.format(bucket=self.bucket_name) if template else f"S3 error {code}."
            raise self.fail(message, code="auth" if template else "source_error") from None
        except bexc.NoCredentialsError:
            raise self.fail("No AWS credentials were given and none are configured on this server.",
                            code="auth") from None
        except (bexc.EndpointConnectionError, bexc.ConnectTimeoutError, bexc.ReadTimeoutError) as exc:
            raise self.fail(f"Host unreachable: {exc}") from None
        except bexc.BotoCoreError as exc:
            raise self.fail(f"S3 error: {exc}") from None

    def test(self) -> TestResult:
        self.call(self.client().head_bucket, Bucket=self.bucket_name)
        answer = self.call(self.client().list_objects_v2, Bucket=self.bucket_name, Prefix=self.base, MaxKeys=1)
        return TestResult(True, f"Bucket s3://{self.bucket_name} is readable.",
                          {"has_files": bool(answer.get("KeyCount"))})

    def objects(self, prefix: str) -> Iterator[dict[str, Any]]:
        pages = self.client().get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket_name, Prefix=self.base + prefix,
            PaginationConfig={"MaxItems": MAX_LISTED_FILES + 1, "PageSize": 1000})
        for page in self.call(list, pages):
            for item in page.get("Contents", []):
                if item["Key"].endswith("/"):
                    continue
                yield {"path": item["Key"][len(self.base):], "size": item["Size"],
                       "modified": item["LastModified"].isoformat()}

    def read_range(self, path: str, start: int, length: int) -> bytes:
        answer = self.call(self.client().get_object, Bucket=self.bucket_name, Key=self.base + path,
                           Range=f"bytes={start}-{start + length - 1}")
        return answer["Body"].read()

    def size(self, path: str) -> int:
        return self.call(self.client().head_object, Bucket=self.bucket_name, Key=self.base + path)["ContentLength"]

