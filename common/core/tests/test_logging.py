import json
import logging

from common.core.logging import JsonFormatter, RequestIdFilter
from common.core.middleware import request_id_var


def test_json_log_line_carries_the_request_id_and_extra_fields():
    record = logging.LogRecord("docent.test", logging.WARNING, __file__, 1, "upload %s failed", ("abc",), None)
    record.document_id = "d-1"
    token = request_id_var.set("req-42")
    try:
        RequestIdFilter().filter(record)
        line = JsonFormatter().format(record)
    finally:
        request_id_var.reset(token)
    payload = json.loads(line)
    assert payload["message"] == "upload abc failed"
    assert payload["level"] == "WARNING"
    assert payload["request_id"] == "req-42"
    assert payload["document_id"] == "d-1"
