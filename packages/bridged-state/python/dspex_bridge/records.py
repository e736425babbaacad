"""What reads and watches return: plain dataclasses over the wire messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, Optional

from . import codec
from ._generated import snakepit_bridge_pb2 as pb


def timestamp_to_datetime(ts) -> Optional[datetime]:
    if ts is None or (ts.seconds == 0 and ts.nanos == 0):
        return None
    return datetime.fromtimestamp(ts.seconds + ts.nanos / 1e9, tz=timezone.utc)


def source_of(var: "pb.Variable") -> str:
    # source_name (extension 14) carries the writer's own name; the enum only knows two values.
    if var.source_name:
        return var.source_name
    return var.metadata.get("source") or pb.Variable.Source.Name(var.source).lower()


@dataclass(frozen=True)
class VariableRecord:
    """A variable as stored by the server. `value` uses the Python shapes of codec.py."""

    id: str
    name: str
    type: str
    value: Any
    version: int
    constraints: Dict[str, Any] = field(default_factory=dict)
    metadata: Dict[str, str] = field(default_factory=dict)
    source: str = ""
    created_at: Optional[datetime] = None
    updated_at: Optional[datetime] = None

    @classmethod
    def from_proto(cls, var: "pb.Variable") -> "VariableRecord":
        return cls(
            id=var.id,
            name=var.name,
            type=var.type,
            value=codec.decode(var.value, var.binary_value, var.type or None),
            version=var.version,
            constraints=codec.decode_constraints(var.constraints_json),
            metadata=dict(var.metadata),
            source=source_of(var),
            created_at=timestamp_to_datetime(var.created_at) if var.HasField("created_at") else None,
            updated_at=timestamp_to_datetime(var.last_updated_at) if var.HasField("last_updated_at") else None,
        )


@dataclass(frozen=True)
class Update:
    """One message of a watch stream.

    kind: "initial_value", "value_change", "deleted" or "heartbeat" (then record is None).
    For "deleted", record holds the last value. previous_value is set on value_change when the
    server sends it (extension field 7). conflated is True when the watcher fell behind and this
    message stands for every change to the variable since the last one (the latest state, no
    previous_value; extension field 8). cursor is the change's position in the store's change
    feed (extension field 9; empty on snapshots, heartbeats and stores without a feed).
    """

    kind: str
    variable_id: str
    record: Optional[VariableRecord]
    source: str
    metadata: Dict[str, str]
    timestamp: Optional[datetime]
    previous_value: Any = None
    conflated: bool = False
    cursor: str = ""

    @property
    def name(self) -> Optional[str]:
        return self.record.name if self.record else None

    @property
    def value(self) -> Any:
        return self.record.value if self.record else None

    @property
    def version(self) -> Optional[int]:
        return self.record.version if self.record else None

    @classmethod
    def from_proto(cls, msg: "pb.VariableUpdate") -> "Update":
        record = VariableRecord.from_proto(msg.variable) if msg.HasField("variable") and msg.variable.type else None
        previous = None
        if msg.HasField("previous_value") and msg.previous_value.type_url:
            previous = codec.decode(msg.previous_value)
        return cls(
            kind=msg.update_type,
            variable_id=msg.variable_id,
            record=record,
            source=msg.update_source,
            metadata=dict(msg.update_metadata),
            timestamp=timestamp_to_datetime(msg.timestamp) if msg.HasField("timestamp") else None,
            previous_value=previous,
            conflated=msg.conflated,
            cursor=msg.cursor,
        )
