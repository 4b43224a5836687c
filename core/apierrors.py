"""The JSON error shape every API answers with: {"error": {"code", "message"}}."""

from flask import jsonify
from werkzeug.exceptions import HTTPException


class ApiError(Exception):
    """An error a JSON endpoint answers with: HTTP status, machine code, human message."""

    def __init__(self, status: int, code: str, message: str, fields: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields


def error_response(status: int, code: str, message: str, fields: dict | None = None):
    """Build the JSON error response."""
    body = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    response = jsonify(body)
    response.status_code = status
    return response


def json_body() -> dict:
    """Return the request's JSON object, or raise a 400 ApiError saying what is wrong."""
    from flask import request

    if not request.is_json:
        raise ApiError(400, "malformed", "the body must be JSON (Content-Type: application/json)")
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "malformed", "the body is not valid JSON")
    if not isinstance(data, dict):
        raise ApiError(400, "malformed", "the body must be a JSON object")
    return data


def register_json_errors(blueprint):
    """Make every error raised in blueprint's views answer in the JSON error shape."""

    @blueprint.errorhandler(ApiError)
    def _api_error(error: ApiError):
        return error_response(error.status, error.code, error.message, error.fields)

    @blueprint.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        code = (error.name or "error").lower().replace(" ", "_")
        return error_response(error.code or 500, code, error.description or error.name)
