"""`POST /api/imports/<kind>/`: upload a CSV export of any kind of the registry."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.api.shared import row_errors_json
from core.csvimport import FileRefused, column_map_parse
from imports.services import (
    IMPORT_KINDS,
    IMPORT_PERMISSIONS,
    MAX_UPLOAD_BYTES,
    ImportRejected,
    ImportResult,
    csv_import,
)


class CsvImportRequest(serializers.Serializer):
    file = serializers.FileField()
    map = serializers.CharField(required=False, allow_blank=True, default="")
    dry_run = serializers.BooleanField(required=False, default=False)
    skip_invalid = serializers.BooleanField(required=False, default=False)


class ImportProblem(serializers.Serializer):
    """Why an upload was refused: the kind is unknown, the file too large."""

    code = serializers.CharField()
    message = serializers.CharField()


def _result(result: ImportResult) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": result.kind,
        "dry_run": result.dry_run,
        "rows": result.rows,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "rejected": len(result.rejected),
        "ignored_columns": result.ignored_columns,
    }
    if result.rejected:
        body["errors"] = row_errors_json(result.errors)
        body["rejects_csv"] = result.rejects_csv()
    return body


class CsvImportApi(APIView):
    """Upload a CSV export (multipart field `file`). All or nothing unless skip_invalid."""

    parser_classes = [MultiPartParser]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=CsvImportRequest,
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="What was imported."),
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="An invalid form ({field: [messages]}), or `code` invalid_file "
                "or invalid_rows with a `message` (and the rows' `errors`).",
            ),
            403: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="Not signed in ({detail}), or `code` forbidden: the role may not "
                "import this kind.",
            ),
            404: OpenApiResponse(ImportProblem, description="`code` unknown_kind."),
            413: OpenApiResponse(ImportProblem, description="`code` too_large."),
        },
    )
    def post(self, request: Request, kind: str) -> Response:
        if kind not in IMPORT_KINDS:
            return Response(
                {"code": "unknown_kind", "message": f"use one of {', '.join(IMPORT_KINDS)}"},
                status=status.HTTP_404_NOT_FOUND,
            )
        if not request.user.has_perm(IMPORT_PERMISSIONS[kind]):
            return Response(
                {
                    "code": "forbidden",
                    "message": f"importing {kind} needs {IMPORT_PERMISSIONS[kind]}",
                },
                status=status.HTTP_403_FORBIDDEN,
            )
        form = CsvImportRequest(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            return Response(
                {
                    "code": "too_large",
                    "message": f"files over {MAX_UPLOAD_BYTES} bytes: use import_csv",
                },
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        try:
            result = csv_import(
                kind=kind,
                data=upload.read(),
                column_map=column_map_parse(form.validated_data["map"]),
                dry_run=form.validated_data["dry_run"],
                skip_invalid=form.validated_data["skip_invalid"],
            )
        except FileRefused as problem:
            return Response(
                {"code": "invalid_file", "message": str(problem)},
                status=status.HTTP_400_BAD_REQUEST,
            )
        except ImportRejected as rejected:
            return Response(
                {
                    "code": "invalid_rows",
                    "message": f"nothing imported: {rejected}",
                    "errors": row_errors_json(rejected.result.errors),
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(_result(result))
