"""What clients send, parsed and checked into one shape. Two crop formats: the seed app's
(`columns[{columnIndex, imageData}]`, `correctAnswer`, `playerId`, `sessionId`; the answer is
left-padded with zeros to the column count) and ours (`columns[{index, image, label}]`, or `answer`,
plus `player`, `session`, `device` and `client: {version, model: {name, sha256}}`). And frames:
`{image, corners, player, session, device, client}`. Ids are any strings: only their keyed hashes
are stored, so nothing a client writes reaches a file name or a query."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from soroban_vision.collect.crops import Crop, check_crop, decode_base64
from soroban_vision.collect.limits import Limits
from soroban_vision.collect.rejection import Rejected, bad_field

SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class Ids:
    player: str | None = None
    session: str | None = None
    device: str | None = None


@dataclass
class Client:
    version: str | None = None
    model_name: str | None = None
    model_sha256: str | None = None


@dataclass
class CropSubmission:
    source: str  # "seed" or "v1"
    crops: list[tuple[int, Crop, int]]  # (column index, crop, label)
    columns: int
    answer: str | None
    ids: Ids = field(default_factory=Ids)
    client: Client = field(default_factory=Client)
    client_digits: list[int] | None = None  # what the client's own model read, when it says


def _object(doc) -> dict:
    if not isinstance(doc, dict):
        raise Rejected(400, "bad_payload", "the body must be a JSON object")
    return doc


def _id(doc: dict, name: str, limits: Limits) -> str | None:
    value = doc.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise bad_field(name, "expected a string")
    value = str(value)
    if not value or len(value) > limits.id_chars:
        raise bad_field(name, f"must be 1-{limits.id_chars} characters")
    return value


def _columns(doc: dict, limits: Limits) -> list:
    columns = doc.get("columns")
    if not isinstance(columns, list) or not columns:
        raise bad_field("columns", "expected a non-empty list")
    if len(columns) > limits.max_columns:
        raise Rejected(
            422, "too_many_columns", f"columns: {len(columns)} crops; at most {limits.max_columns}"
        )
    if not all(isinstance(c, dict) for c in columns):
        raise bad_field("columns", "every column must be an object")
    return columns


def _index(column: dict, key: str, n: int, i: int) -> int:
    value = column.get(key, i)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < n:
        raise bad_field(f"columns[{i}].{key}", f"expected an integer 0-{n - 1}", code="bad_column_index")
    return value


def answer_digits(value, columns: int, name: str) -> str:
    """The answer as `columns` digits, left-padded with zeros (the seed app's rule)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise bad_field(name, "expected a whole number or a string of digits", code="bad_answer")
    text = str(value)
    if not text.isascii() or not text.isdigit():
        raise bad_field(name, "expected digits 0-9 only", code="bad_answer")
    text = text.lstrip("0") or "0"
    if len(text) > columns:
        raise bad_field(name, f"{len(text)} digits for {columns} columns", code="answer_too_long")
    return text.zfill(columns)


def parse_seed(doc, limits: Limits) -> CropSubmission:
    """The seed app's payload, as it posts it to /api/vision-training/collect."""
    doc = _object(doc)
    columns = _columns(doc, limits)
    n = len(columns)
    if "correctAnswer" not in doc:
        raise bad_field("correctAnswer", "missing", code="bad_answer")
    answer = answer_digits(doc["correctAnswer"], n, "correctAnswer")
    crops, seen = [], set()
    for i, column in enumerate(columns):
        index = _index(column, "columnIndex", n, i)
        if index in seen:
            raise bad_field(f"columns[{i}].columnIndex", f"{index} appears twice", code="bad_column_index")
        seen.add(index)
        where = f"columns[{i}].imageData"
        crop = check_crop(decode_base64(column.get("imageData"), where, limits.crop_png_bytes), where)
        crops.append((index, crop, int(answer[index])))
    ids = Ids(player=_id(doc, "playerId", limits), session=_id(doc, "sessionId", limits))
    return CropSubmission("seed", crops, n, answer, ids)


def _label(column: dict, i: int) -> int | None:
    if "label" not in column:
        return None
    label = column["label"]
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label <= 9:
        raise bad_field(f"columns[{i}].label", "expected a digit 0-9", code="digit_out_of_range")
    return label


def parse_v1(doc, limits: Limits) -> CropSubmission:
    """Our format: a label per column (or an answer), ids, and the client's model and reading."""
    doc = _object(doc)
    columns = _columns(doc, limits)
    n = len(columns)
    answer = answer_digits(doc["answer"], n, "answer") if doc.get("answer") is not None else None
    crops, seen, reading = [], set(), []
    for i, column in enumerate(columns):
        index = _index(column, "index", n, i)
        if index in seen:
            raise bad_field(f"columns[{i}].index", f"{index} appears twice", code="bad_column_index")
        seen.add(index)
        label = _label(column, i)
        if label is None and answer is None:
            raise bad_field(f"columns[{i}].label", "missing, and no answer given", code="no_label")
        label = label if label is not None else int(answer[index])
        where = f"columns[{i}].image"
        crop = check_crop(decode_base64(column.get("image"), where, limits.crop_png_bytes), where)
        crops.append((index, crop, label))
        digit = column.get("reading")
        reading.append(digit if isinstance(digit, int) and not isinstance(digit, bool) else None)
    ids = Ids(_id(doc, "player", limits), _id(doc, "session", limits), _id(doc, "device", limits))
    client_digits = reading if all(isinstance(d, int) and 0 <= d <= 9 for d in reading) else None
    return CropSubmission("v1", crops, n, answer, ids, parse_client(doc, limits), client_digits)


def parse_client(doc: dict, limits: Limits) -> Client:
    client = doc.get("client")
    if client is None:
        return Client()
    if not isinstance(client, dict):
        raise bad_field("client", "expected an object")
    version = client.get("version")
    if version is not None and not _short_text(version, limits):
        raise bad_field(
            "client.version", f"expected printable text of at most {limits.version_chars} characters"
        )
    model = client.get("model") or {}
    if not isinstance(model, dict):
        raise bad_field("client.model", "expected an object")
    name, sha = model.get("name"), model.get("sha256")
    if name is not None and not _short_text(name, limits):
        raise bad_field("client.model.name", "expected a short string")
    if sha is not None and (not isinstance(sha, str) or not SHA256.match(sha)):
        raise bad_field("client.model.sha256", "expected 64 lowercase hex digits")
    return Client(version, name, sha)


def _short_text(value, limits: Limits) -> bool:
    """Stored as given, so printable only: no NUL (PostgreSQL refuses it), no control characters."""
    return isinstance(value, str) and 0 < len(value) <= limits.version_chars and value.isprintable()


@dataclass
class FrameSubmission:
    image: bytes
    corners: object
    ids: Ids
    client: Client


def parse_frame(doc, limits: Limits) -> FrameSubmission:
    doc = _object(doc)
    image = decode_base64(doc.get("image"), "image", limits.frame_body_bytes)
    ids = Ids(_id(doc, "player", limits), _id(doc, "session", limits), _id(doc, "device", limits))
    return FrameSubmission(image, doc.get("corners"), ids, parse_client(doc, limits))
