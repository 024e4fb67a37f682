"""The stored events' JSON, written and read by orjson: the library's own format, byte for byte.

The eventsourcing library's `JSONTranscoder` writes an event's state with the json module:
compact, keys in their order, non-ASCII as UTF-8, each value of a registered type (Decimal,
date, datetime, UUID) as `{"_type_": name, "_data_": ...}`. The chain hashes those bytes, so
the format stays: `OrjsonTranscoder` is that transcoder, its transcodings registered the same
way, with orjson calling the library's own `_encode_obj` for each value of a registered
type, and the library's own `_decode_obj` given each dict read, innermost first, as json's
`object_hook` is. For the values the ledger's events hold (str, int, bool, None, Decimal,
date, datetime, in dicts with str keys and in lists) the bytes written are the library's;
from any bytes the codec reads what the library reads, and refuses what it refuses, but
for one kind of document that neither writes (below).

Where orjson would differ, the library's own JSON does the work:
- writing, anything orjson refuses: an int beyond 64 bits, a key that is no str, a subclass
  of str, int, dict or list, a tuple subclass, a type with no transcoding;
- reading, anything orjson refuses (NaN, Infinity, a lone surrogate, a number too large for
  a float, a byte order mark), and any document with a float in it, for orjson reads an int
  beyond 64 bits as a float.

Three kinds of value orjson writes by itself, not as the library does, and no event of the
ledger holds one (tests/store/test_codec.py checks the events' fields): a float (1e-05 as
0.00001, NaN as null), a UUID (as its hyphenated text, not a `uuid_hex`), and an Enum that
is no str or int (as its value). And one kind of document neither writes is read apart: a
key given twice in an object. Both keep its last value, but json revives the values it then
drops, so the library refuses such a document where a dropped value is a `_type_` no
transcoding reads (or reads with an error); the codec never looks at them.
"""

import dataclasses
from functools import cache
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent

_PASSTHROUGH = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
)
"""Datetimes, subclasses and dataclasses go to the library's `_encode_obj`, as with json."""


class _FloatRead(Exception):
    """A float in what orjson read: maybe an int the library would read as an int."""


class OrjsonTranscoder(JSONTranscoder):
    """The library's JSON transcoder, encoding and decoding with orjson."""

    def encode(self, obj: Any) -> bytes:
        try:
            written = orjson.dumps(obj, default=self._encode_obj, option=_PASSTHROUGH)
        except orjson.JSONEncodeError as error:
            if isinstance(error.__cause__, BaseException) and not isinstance(
                error.__cause__, Exception
            ):
                # orjson wraps whatever a transcoding raised, Ctrl-C and exit included: those
                # are the user's, not a value for the library's JSON to try again.
                raise error.__cause__ from None
            return super().encode(obj)
        # orjson's bytes keep the whole of its buffer, 4 KiB for any short JSON: a batch of
        # them held until saved took six times as long to write as copies of their own size.
        return bytes(memoryview(written))

    def decode(self, data: bytes) -> Any:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            return super().decode(data)
        try:
            if type(value) is dict:
                return self._revive_dict(value)
            if type(value) is list:
                return self._revive_list(value)
            if type(value) is float:
                raise _FloatRead
        except _FloatRead:
            return super().decode(data)
        return value

    def _revive_dict(self, value: dict[str, Any]) -> Any:
        """The dict as json's decoder gives it: its values revived first, then itself through
        the library's object hook, which leaves any dict but of two keys as it is."""
        if (
            len(value) == 2
            and type(value.get("_type_")) is str
            and type(value.get("_data_")) is str
        ):
            return self._decode_obj(value)  # most often a value of a registered type
        for key, item in value.items():
            kind = type(item)
            if kind is dict:
                value[key] = self._revive_dict(item)
            elif kind is list:
                value[key] = self._revive_list(item)
            elif kind is float:
                raise _FloatRead
        return self._decode_obj(value) if len(value) == 2 else value

    def _revive_list(self, value: list[Any]) -> list[Any]:
        for index, item in enumerate(value):
            kind = type(item)
            if kind is dict:
                value[index] = self._revive_dict(item)
            elif kind is list:
                value[index] = self._revive_list(item)
            elif kind is float:
                raise _FloatRead
        return value


class StoredAsBefore(Mapper[UUID]):
    """The library's mapper, but for the fields an event kind gained after events of it were
    first recorded (its `added_later`): while such a field holds its default it is left out
    of the stored state, so that an event that does not use it is stored byte for byte as
    before the field existed, and reads back the same (the default being the class's)."""

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        defaults = _later_defaults(type(domain_event))
        state = vars(domain_event)
        unused = [name for name, default in defaults if state.get(name, default) == default]
        if unused:
            plain = object.__new__(type(domain_event))
            plain.__dict__.update(state)
            for name in unused:
                plain.__dict__.pop(name, None)
            domain_event = plain
        return super().to_stored_event(domain_event)


@cache
def _later_defaults(kind: type) -> tuple[tuple[str, object], ...]:
    """An event kind's fields added later, each with its default: read once per kind."""
    later = getattr(kind, "added_later", ())
    return tuple((f.name, f.default) for f in dataclasses.fields(kind) if f.name in later)
