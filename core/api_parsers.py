"""The REST API's JSON parser: DRF's, with the nesting limit it lacks (issue 18).

DRF lets the RecursionError of a deeply nested body (`[[[[...` 100,000 deep)
out of its JSON parser, a 500; here it is a 400 before any view runs. (A body
over DATA_UPLOAD_MAX_MEMORY_SIZE is Django's RequestDataTooBig, answered 413 by
core.api_errors.) Wired as the JSON entry of DRF's `DEFAULT_PARSER_CLASSES`
(config/settings.py).
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply") from None
