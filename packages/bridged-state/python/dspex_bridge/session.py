"""SessionContext: one session's variables, as methods, dict items and attributes."""

from __future__ import annotations

import threading
import uuid
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional

from . import codec
from ._generated import snakepit_bridge_pb2 as pb
from ._retry import Attempts
from .errors import (
    AlreadyExistsError,
    BatchUpdateError,
    BridgeError,
    NotFoundError,
    SessionNotFoundError,
    ValidationError,
)
from .records import VariableRecord, timestamp_to_datetime
from .watch import MISS, NamesOrPattern, VariableCache, Watch, watch_request

SOURCE = "python"
_PYTHON_METADATA = {"source": SOURCE}
_NO_DEFAULT = object()


class _AttributeNotFoundError(NotFoundError, AttributeError):
    """`ctx.missing`: a NotFoundError that hasattr()/getattr(default) also understand."""


def new_request_id() -> str:
    """A fresh idempotency key for one write; every retry of that write sends the same one."""
    return uuid.uuid4().hex


def _check_expected_version(what: str, version: Any) -> None:
    # On the wire 0 means "no expectation": a 0 (or a bool, a float) here would silently drop it.
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValidationError(f"{what}: expected_version must be an integer >= 1 (versions start at 1), got {version!r}")


def _infer_type(value: Any) -> str:
    # Only for identifiers the server will reject anyway (unknown in a batch): any url will do.
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "tensor"
    return "embedding"


class SessionContext:
    """A session on the bridge. Create with `BridgeClient.session(...)`.

    Variables are reachable as `ctx.get("x")`, `ctx["x"]` and `ctx.x` (assignment writes).
    Names that collide with a method or attribute (get, set, list, session_id, ...) need the
    item or method form.
    Thread-safe: share one context between threads.
    """

    def __init__(self, client: Any, session_id: str):
        object.__setattr__(self, "_client", client)
        object.__setattr__(self, "_binary_threshold", client.binary_threshold)
        object.__setattr__(self, "session_id", session_id)
        object.__setattr__(self, "created", False)
        # identifier -> type, and name <-> id, learned from every record this context sees.
        object.__setattr__(self, "_types", {})
        object.__setattr__(self, "_aliases", {})
        object.__setattr__(self, "_cache", None)
        object.__setattr__(self, "_watches", [])
        object.__setattr__(self, "_lock", threading.Lock())

    # -- plumbing ------------------------------------------------------------------------------
    def _rpc(self, method: str, request: Any, what: str, attempts: Optional[Attempts] = None) -> Any:
        # Through the client: failover and retries on another bridge (README, "Several bridges").
        return self._client.call(method, request, _short(what), attempts)

    def _learn(self, var: "pb.Variable") -> None:
        if var.type:
            self._types[var.name] = var.type
            self._types[var.id] = var.type
            self._aliases[var.name] = var.id
            self._aliases[var.id] = var.name

    def _type_of(self, identifier: str) -> str:
        # A write needs the stored type for the Any's type_url; learn it once per identifier.
        var_type = self._types.get(identifier)
        if var_type is None:
            request = pb.GetVariableRequest(session_id=self.session_id, variable_identifier=identifier, prefer_binary=True)
            var = self._rpc("GetVariable", request, f"set {identifier!r}").variable
            self._learn(var)
            var_type = var.type
        return var_type

    def _relearn_types(self, identifiers: Iterable[str]) -> List[str]:
        """Reads again the types this context already knew for `identifiers`; returns those that
        changed. A variable deleted and re-registered under the same name may have a new type,
        so a write refused under the old one is worth one retry (set and update_many)."""
        before = {i: self._types[i] for i in identifiers if i in self._types}
        if before:
            self.get_records(before)  # learns; identifiers gone since are left out
        return [i for i, var_type in before.items() if self._types.get(i, var_type) != var_type]

    @staticmethod
    def _write_metadata(metadata: Optional[Mapping[str, str]]) -> Mapping[str, str]:
        if not metadata:
            return _PYTHON_METADATA
        if not isinstance(metadata, Mapping):
            raise ValidationError(f"metadata must be a mapping of strings, got {type(metadata).__name__}")
        for key, value in metadata.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise ValidationError(f"metadata must map strings to strings, got {key!r}: {value!r}")
        merged = dict(_PYTHON_METADATA)
        merged.update(metadata)  # an explicit source from the caller wins
        return merged

    # -- session ---------------------------------------------------------------------------------
    def initialize(self, metadata: Optional[Mapping[str, str]] = None) -> bool:
        """Creates the session on the server; joins it when it already exists.

        Returns True when this call created it. Also the way back after a server restart lost it.
        """
        self._client._track(self)  # again after cleanup(): client.close() must stop its cache
        request = pb.InitializeSessionRequest(session_id=self.session_id, metadata=self._write_metadata(metadata))
        try:
            # Retried after an ambiguous failure, a creation that did apply answers ALREADY_EXISTS:
            # the context then joins (created stays False), which is what a caller needs anyway.
            response = self._rpc("InitializeSession", request, f"initialize session {self.session_id!r}")
        except AlreadyExistsError:
            self.info()
            return False
        if not response.success:
            raise BridgeError(f"initialize session {self.session_id!r}: {response.error_message}")
        for var in response.initial_variables.values():
            self._learn(var)
        object.__setattr__(self, "created", True)
        return True

    def info(self) -> Dict[str, Any]:
        """GetSession: {session_id, metadata, created_at, variable_count}. NotFoundError if gone."""
        response = self._rpc("GetSession", pb.GetSessionRequest(session_id=self.session_id), f"session {self.session_id!r}")
        return {
            "session_id": response.session_id,
            "metadata": dict(response.metadata),
            "created_at": timestamp_to_datetime(response.created_at),
            "variable_count": response.variable_count,
        }

    def heartbeat(self) -> bool:
        """Heartbeat: True while the server knows the session."""
        return self._rpc("Heartbeat", pb.HeartbeatRequest(session_id=self.session_id), "heartbeat").session_valid

    def exposed_tools(self) -> List[Any]:
        """GetExposedElixirTools (this bridge exposes none: an empty list)."""
        request = pb.GetExposedElixirToolsRequest(session_id=self.session_id)
        return list(self._rpc("GetExposedElixirTools", request, "exposed tools").tools)

    def cleanup(self, force: bool = True) -> int:
        """Deletes the session on the server (ends its watches); returns resources cleaned."""
        self.close()
        self._client._forget(self)  # nothing left for client.close() to stop
        request = pb.CleanupSessionRequest(session_id=self.session_id, force=force)
        attempts = Attempts()
        try:
            return self._rpc("CleanupSession", request, f"cleanup session {self.session_id!r}", attempts).resources_cleaned
        except SessionNotFoundError:
            if not attempts.ambiguous:  # as delete: gone is what was asked; what went with it is unknown
                raise
            return 0

    def close(self) -> None:
        """Stops this context's cache and watches; the session stays on the server."""
        self.disable_cache()
        for watch in list(self._watches):
            watch.cancel()
        self._watches.clear()

    def __enter__(self) -> "SessionContext":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- variables -------------------------------------------------------------------------------
    def register(self, name: str, type: str, value: Any, constraints: Optional[Dict[str, Any]] = None,
                 metadata: Optional[Mapping[str, str]] = None) -> str:
        """Registers a variable; returns its id. Constraints use snake_case keys (min_length, ...)."""
        packed, binary = codec.encode(name, type, value, self._binary_threshold)
        request = pb.RegisterVariableRequest(
            session_id=self.session_id, name=name, type=type, initial_value=packed,
            constraints_json=codec.encode_constraints(constraints), metadata=self._write_metadata(metadata),
            initial_binary_value=binary,
            # The same id on every attempt: a bridge that applied the first answers its id again.
            request_id=new_request_id(),
        )
        attempts = Attempts()
        try:
            response = self._rpc("RegisterVariable", request, f"register {name!r}", attempts)
        except AlreadyExistsError:
            # A bridge that keeps no request ids (Snakepit's own) answers a retry ALREADY_EXISTS.
            if not attempts.ambiguous:
                raise
            return self._own_registration(name, type, codec.decode(packed, binary, type), constraints)
        if not response.success:
            raise ValidationError(f"register {name!r}: {response.error_message}")
        var_id = response.variable_id
        self._types[name] = self._types[var_id] = type
        self._aliases[name] = var_id
        self._aliases[var_id] = name
        cache = self._cache
        if cache is not None:
            cache.note_register(name, var_id)
        return var_id

    def _own_registration(self, name: str, var_type: str, value: Any, constraints: Optional[Dict[str, Any]]) -> str:
        """After an attempt that may have applied, ALREADY_EXISTS on the retry: the variable
        counts as this call's registration when it is still exactly what was sent (version 1,
        same type, value and constraints); otherwise the name was someone else's."""
        try:
            record = self.get_record(name)
        except NotFoundError:
            record = None
        wanted = codec.decode_constraints(codec.encode_constraints(constraints))
        if record is None or (record.type, record.version, record.value, record.constraints) != (var_type, 1, value, wanted):
            raise AlreadyExistsError(
                f"register {name!r}: the name is taken, and an earlier attempt that failed in transit may "
                f"or may not have been this call's (the variable is not what it registered) [ALREADY_EXISTS]")
        cache = self._cache
        if cache is not None:
            cache.note_register(name, record.id)
        return record.id

    def get(self, identifier: str, default: Any = _NO_DEFAULT, fresh: bool = False) -> Any:
        """The value of a variable (by name or id). With the cache enabled, served from it when
        its guarantee allows (README, "Read cache"); `fresh=True` always asks the server.
        NotFoundError unless a default is given."""
        cache = self._cache
        if cache is not None and not fresh:
            value = cache.lookup(identifier)
            if value is not MISS:
                return value
        try:
            request = pb.GetVariableRequest(session_id=self.session_id, variable_identifier=identifier, prefer_binary=True)
            response = self._rpc("GetVariable", request, f"get {identifier!r}")
        except NotFoundError as failure:
            if default is not _NO_DEFAULT and type(failure) is NotFoundError:
                return default
            raise
        var = response.variable
        if identifier not in self._types:
            self._learn(var)
        return codec.decode(var.value, var.binary_value, var.type)

    def get_record(self, identifier: str) -> VariableRecord:
        """Value, version, type, constraints, metadata, source and timestamps (always from the server)."""
        request = pb.GetVariableRequest(session_id=self.session_id, variable_identifier=identifier, prefer_binary=True)
        var = self._rpc("GetVariable", request, f"get {identifier!r}").variable
        self._learn(var)
        return VariableRecord.from_proto(var)

    def set(self, identifier: str, value: Any, expected_version: Optional[int] = None,
            metadata: Optional[Mapping[str, str]] = None) -> int:
        """Writes a value; returns the new version. `expected_version` makes it a compare-and-set
        (VersionConflictError when the stored version differs)."""
        if expected_version is not None:
            _check_expected_version(f"set {identifier!r}", expected_version)
        write_md = self._write_metadata(metadata)
        known = identifier in self._types
        var_type = self._type_of(identifier)
        try:
            version = self._set_as(identifier, var_type, value, expected_version, write_md)
        except ValidationError:
            if not known or not self._relearn_types([identifier]):
                raise
            version = self._set_as(identifier, self._types[identifier], value, expected_version, write_md)
        cache = self._cache
        if cache is not None:
            cache.note_write(identifier, version)
        return version

    def _set_as(self, identifier: str, var_type: str, value: Any, expected_version: Optional[int],
                metadata: Mapping[str, str]) -> int:
        packed, binary = codec.encode(identifier, var_type, value, self._binary_threshold)
        request = pb.SetVariableRequest(
            session_id=self.session_id, variable_identifier=identifier, value=packed, metadata=metadata,
            expected_version=expected_version or 0, binary_value=binary, request_id=new_request_id(),
        )
        response = self._rpc("SetVariable", request, f"set {identifier!r}")
        if not response.success:
            raise ValidationError(f"set {identifier!r}: {response.error_message}")
        return response.new_version

    def get_many(self, identifiers: Iterable[str]) -> Dict[str, Any]:
        """{identifier: value} for the identifiers that exist (missing ones are left out)."""
        request = pb.BatchGetVariablesRequest(
            session_id=self.session_id, variable_identifiers=list(identifiers), include_metadata=True, prefer_binary=True,
        )
        response = self._rpc("GetVariables", request, "get_many")
        out = {}
        for key, var in response.variables.items():
            self._learn(var)
            out[key] = codec.decode(var.value, var.binary_value, var.type)
        return out

    def get_records(self, identifiers: Iterable[str]) -> Dict[str, VariableRecord]:
        request = pb.BatchGetVariablesRequest(
            session_id=self.session_id, variable_identifiers=list(identifiers), include_metadata=True, prefer_binary=True,
        )
        response = self._rpc("GetVariables", request, "get_records")
        for var in response.variables.values():
            self._learn(var)
        return {key: VariableRecord.from_proto(var) for key, var in response.variables.items()}

    def update_many(self, updates: Mapping[str, Any], atomic: bool = True,
                    expected_versions: Optional[Mapping[str, int]] = None,
                    metadata: Optional[Mapping[str, str]] = None) -> Dict[str, int]:
        """Writes several variables in one call; returns {identifier: new version}.

        atomic=True: all or nothing. Any failing item (bad value, unknown identifier, version
        conflict) raises BatchUpdateError listing every failure in `.errors`; with atomic=False
        the passing items are applied and listed in `.applied`.
        """
        updates = dict(updates)
        expected = dict(expected_versions or {})
        for identifier, version in expected.items():
            if identifier not in updates:
                raise ValidationError(f"update_many: expected_versions names {identifier!r}, which is not in updates")
            _check_expected_version(f"update_many {identifier!r}", version)
        write_md = self._write_metadata(metadata)
        known = [i for i in updates if i in self._types]
        unknown = [i for i in updates if i not in self._types]
        if unknown:
            self.get_records(unknown)  # learns the types; still-unknown ones fail on the server
        try:
            versions, errors, refused = self._update_as(updates, atomic, expected, write_md)
        except ValidationError:  # a value the known type cannot encode: nothing was sent
            if not self._relearn_types(known):
                raise
            versions, errors, refused = self._update_as(updates, atomic, expected, write_md)
        else:
            changed = self._relearn_types([i for i in errors if i in known]) if errors else []
            if changed:
                # Atomic: nothing was applied, so the whole batch goes again. Otherwise only the
                # items refused under their old type; the rest stay applied (or failed) as they were.
                retry = updates if atomic else {i: updates[i] for i in changed}
                retry_expected = {i: v for i, v in expected.items() if i in retry}
                retried, retry_errors, retry_refused = self._update_as(retry, atomic, retry_expected, write_md)
                versions.update(retried)
                if atomic:
                    errors, refused = retry_errors, retry_refused
                else:
                    errors = {**{i: e for i, e in errors.items() if i not in retry}, **retry_errors}
                    refused = retry_refused or bool(errors)
        if refused:
            raise BatchUpdateError(errors, versions, atomic)
        return versions

    def _update_as(self, updates: Mapping[str, Any], atomic: bool, expected_versions: Mapping[str, int],
                   metadata: Mapping[str, str]) -> "tuple[Dict[str, int], Dict[str, str], bool]":
        # One SetVariables with the types known now: new versions, item errors, and whether it failed.
        request = pb.BatchSetVariablesRequest(session_id=self.session_id, metadata=metadata, atomic=atomic,
                                              request_id=new_request_id())
        for identifier, value in updates.items():
            var_type = self._types.get(identifier) or _infer_type(value)
            packed, binary = codec.encode(identifier, var_type, value, self._binary_threshold)
            request.updates[identifier].CopyFrom(packed)
            if binary:
                request.binary_updates[identifier] = binary
        for identifier, version in expected_versions.items():
            request.expected_versions[identifier] = version
        response = self._rpc("SetVariables", request, "update_many")
        versions = dict(response.new_versions)
        cache = self._cache
        if cache is not None:
            for identifier, version in versions.items():
                cache.note_write(identifier, version)
        errors = dict(response.errors)
        return versions, errors, not response.success or bool(errors)

    def list(self, pattern: Optional[str] = None) -> List[VariableRecord]:
        """Every variable (or those whose name matches the glob: * and ?), as records."""
        request = pb.ListVariablesRequest(session_id=self.session_id, pattern=pattern or "", prefer_binary=True)
        variables = self._rpc("ListVariables", request, "list").variables
        for var in variables:
            self._learn(var)
        return [VariableRecord.from_proto(var) for var in variables]

    def history(self, identifier: str, limit: Optional[int] = None) -> List[VariableRecord]:
        """The variable's retained versions as records, newest first (the current one first).

        `limit` keeps the newest N (an integer >= 1); the bridge keeps the last 100 versions of
        each variable by default (`dspex-bridge serve --max-versions N`). Going back to the best
        candidate: `ctx.set(name, max(ctx.history(name), key=score).value)`.
        """
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit < 2**31):
            raise ValidationError(f"history {identifier!r}: limit must be an integer >= 1, got {limit!r}")
        request = pb.GetVariableHistoryRequest(
            session_id=self.session_id, variable_identifier=identifier, limit=limit or 0, prefer_binary=True)
        versions = self._rpc("GetVariableHistory", request, f"history {identifier!r}").versions
        return [VariableRecord.from_proto(var) for var in versions]

    def delete(self, identifier: str) -> None:
        request = pb.DeleteVariableRequest(session_id=self.session_id, variable_identifier=identifier,
                                           request_id=new_request_id())
        attempts = Attempts()
        try:
            response = self._rpc("DeleteVariable", request, f"delete {identifier!r}", attempts)
            if not response.success:
                raise BridgeError(f"delete {identifier!r}: {response.error_message}")
        except NotFoundError as failure:
            # Retried after an ambiguous failure on a bridge that keeps no request ids, NOT_FOUND
            # means the variable is gone: what a delete asks for, whoever removed it.
            if type(failure) is not NotFoundError or not attempts.ambiguous:
                raise
        cache = self._cache
        if cache is not None:
            cache.note_delete(identifier)
        alias = self._aliases.pop(identifier, None)
        self._types.pop(identifier, None)
        if alias is not None:
            self._aliases.pop(alias, None)
            self._types.pop(alias, None)

    def to_dict(self) -> Dict[str, Any]:
        """{name: value} of every variable."""
        return {record.name: record.value for record in self.list()}

    # -- watch and cache -----------------------------------------------------------------------
    def watch(self, names_or_pattern: NamesOrPattern = None, include_initial: bool = True,
              include_heartbeats: bool = False) -> Watch:
        """An iterator of Updates: names (a list), one name, or a glob ("lm.*"); None = all.

        With include_initial, one "initial_value" update per variable comes first; then one
        "value_change"/"deleted" per committed change, in commit order. With failover on, a
        broken stream resumes on the next bridge (README, "Several bridges"). Close with
        cancel() or a `with` block.
        """
        request = watch_request(self.session_id, names_or_pattern, include_initial)
        watch = Watch(self._client, request, include_heartbeats)
        self._watches[:] = [w for w in self._watches if w.active]
        self._watches.append(watch)
        return watch

    def enable_cache(self, names_or_pattern: NamesOrPattern = None, max_silence: Optional[float] = None) -> VariableCache:
        """Serves get() from a cache kept coherent by a watch stream (README, "Read cache").

        max_silence: seconds without any stream message (heartbeats count) after which cached
        entries are bypassed; set it above the server's heartbeat interval.
        """
        # A list, once: the stream re-sends it on every reconnect (a generator would be spent).
        selector = names_or_pattern if names_or_pattern is None or isinstance(names_or_pattern, str) else list(names_or_pattern)
        with self._lock:
            if self._cache is None:
                cache = VariableCache(self._client, self.session_id, selector, self._aliases, max_silence=max_silence)
                object.__setattr__(self, "_cache", cache)
            elif (self._cache.selector, self._cache.max_silence) != (selector, max_silence):
                # Handing back a cache without the asked-for max_silence would weaken its guarantee.
                raise ValidationError(
                    f"a cache is already enabled with names_or_pattern={self._cache.selector!r}, "
                    f"max_silence={self._cache.max_silence!r}; call disable_cache() first")
            return self._cache

    def disable_cache(self) -> None:
        with self._lock:
            cache = self._cache
            object.__setattr__(self, "_cache", None)
        if cache is not None:
            cache.close()

    @property
    def cache(self) -> Optional[VariableCache]:
        return self._cache

    # -- dict and attribute access ---------------------------------------------------------------
    def __getitem__(self, identifier: str) -> Any:
        return self.get(identifier)

    def __setitem__(self, identifier: str, value: Any) -> None:
        self.set(identifier, value)

    def __delitem__(self, identifier: str) -> None:
        self.delete(identifier)

    def __contains__(self, identifier: object) -> bool:
        if not isinstance(identifier, str):
            return False
        try:
            self.get_record(identifier)
        except NotFoundError as error:
            if isinstance(error, SessionNotFoundError):  # the session is gone, not the variable
                raise
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter([record.name for record in self.list()])

    def __len__(self) -> int:
        return len(self.list())

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self.get(name)
        except NotFoundError as error:
            if isinstance(error, SessionNotFoundError):  # not an AttributeError: hasattr must not hide it
                raise
            raise _AttributeNotFoundError(error.message, error.code, error.details) from None

    def _is_own_attribute(self, name: str) -> bool:
        # session_id and created live in the instance: ctx.session_id reads them, not a variable,
        # so neither `ctx.session_id = v` nor `del ctx.session_id` may touch a variable of that name.
        return name.startswith("_") or hasattr(type(self), name) or name in self.__dict__

    def __setattr__(self, name: str, value: Any) -> None:
        if self._is_own_attribute(name):
            raise AttributeError(f"cannot assign {name!r} as a variable: use ctx[{name!r}] = value")
        self.set(name, value)

    def __delattr__(self, name: str) -> None:
        if self._is_own_attribute(name):
            raise AttributeError(f"cannot delete {name!r} as a variable: use del ctx[{name!r}]")
        self.delete(name)

    def __repr__(self) -> str:
        return f"SessionContext(session_id={self.session_id!r})"


def _short(what: str) -> str:
    """A call's description for an error message, cut so a hostile identifier is never quoted whole."""
    return what if len(what) <= 300 else f"{what[:256]}... ({len(what)} characters)"
