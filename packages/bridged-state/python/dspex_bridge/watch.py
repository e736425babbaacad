"""Watch streams: the `Watch` iterator and the read cache kept coherent by one."""

from __future__ import annotations

import math
import queue
import threading
import time
from collections import OrderedDict
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

import grpc

from ._generated import snakepit_bridge_pb2 as pb
from ._retry import RETRY_BACKOFF_INITIAL, RETRY_BACKOFF_MAX, is_transport_failure, refuses_cursor
from .errors import BridgeError, from_rpc_error
from .records import Update, VariableRecord

NamesOrPattern = Union[None, str, Iterable[str]]

_END = object()
MISS = object()
# Forgetting an older one only costs caching: an own delete of it then bars its name for good.
_DELETIONS_REMEMBERED = 4096


def watch_request(session_id: str, names_or_pattern: NamesOrPattern, include_initial: bool) -> "pb.WatchVariablesRequest":
    """A string with * or ? is a glob over names, another string one identifier, else a list."""
    request = pb.WatchVariablesRequest(session_id=session_id, include_initial_values=include_initial, prefer_binary=True)
    if isinstance(names_or_pattern, str):
        if "*" in names_or_pattern or "?" in names_or_pattern:
            request.pattern = names_or_pattern
        else:
            request.variable_identifiers.append(names_or_pattern)
    elif names_or_pattern is not None:
        request.variable_identifiers.extend(names_or_pattern)
    return request


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


class Watch:
    """An iterator of `Update`s from one WatchVariables stream.

    A background thread reads the stream into a queue, so `next(timeout=...)` can wait with a
    limit. Iteration ends (StopIteration) when the stream ends cleanly or after `cancel()`; a
    broken stream raises the mapped BridgeError (e.g. UnavailableError) from the iterator.
    With failover on (several bridges), a stream broken by UNAVAILABLE is reopened on the next
    bridge with `resume_after` = the cursor of the last update delivered; the error is raised
    only when no bridge takes it within the client's timeout (README, "Several bridges").
    Use as a context manager, or call `cancel()`, to close it.
    """

    def __init__(self, client: Any, request: "pb.WatchVariablesRequest", include_heartbeats: bool = False):
        self._client = client
        self._request = request
        self._include_heartbeats = include_heartbeats
        self._queue: "queue.Queue[Any]" = queue.Queue()
        self._cancelled = False
        self._done = False
        self._lock = threading.Lock()
        self._call, self._endpoint = client.open_watch(request)
        self.cursor = ""  # of the last update delivered; resume_after on a reopen
        self.resumes = 0  # reopens where the bridge honoured resume_after
        self.catch_ups = 0  # reopens that fell back to a snapshot
        self._delivered: Dict[str, int] = {}  # variable id -> version delivered, to skip a catch-up's repeats
        self._thread = threading.Thread(target=self._pump, name="dspex-bridge-watch", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        reopened = False
        broken_since: Optional[float] = None
        backoff = RETRY_BACKOFF_INITIAL
        failures = 0
        while True:
            try:
                for message in self._call:
                    broken_since, backoff, failures = None, RETRY_BACKOFF_INITIAL, 0
                    if reopened:
                        reopened = False
                        if message.update_type == "resumed":
                            self.resumes += 1
                            continue
                        self.catch_ups += 1
                        self.cursor = ""  # the bridge no longer holds it
                    self._deliver(message)
                break
            except grpc.RpcError as error:
                if self._cancelled and error.code() == grpc.StatusCode.CANCELLED:
                    break
                if reopened and refuses_cursor(error, self.cursor):
                    self.cursor = ""
                    if not self._reopen():
                        break
                    continue
                now = time.monotonic()
                broken_since = now if broken_since is None else broken_since
                if not (self._client.failover and is_transport_failure(error)) or now - broken_since >= self._client.timeout:
                    self._queue.put(_Failure(from_rpc_error(error, "WatchVariables")))
                    break
                self._client.lost(self._endpoint)
                failures += 1
                pause = self._client.retry_pause(failures, backoff)
                if pause:
                    time.sleep(pause)
                    backoff = min(backoff * 2, RETRY_BACKOFF_MAX)
                if not self._reopen():
                    break
                reopened = True
            except BridgeError as error:  # an undecodable value
                self._queue.put(_Failure(error))
                self._call.cancel()  # nobody reads the rest
                break
            except Exception as error:  # anything else must still end the iterator, never hang it
                self._queue.put(_Failure(BridgeError(f"WatchVariables: cannot read the stream ({type(error).__name__}: {error})")))
                self._call.cancel()
                break
        self._queue.put(_END)

    def _deliver(self, message: "pb.VariableUpdate") -> None:
        if message.cursor:
            self.cursor = message.cursor
        kind = message.update_type
        if kind == "heartbeat" and not self._include_heartbeats:
            return
        if kind == "deleted":
            self._delivered.pop(message.variable_id, None)
        elif message.variable.type:
            if kind == "initial_value" and self._delivered.get(message.variable_id) == message.variable.version:
                return  # a catch-up after a reopen repeats what this watch already delivered
            self._delivered[message.variable_id] = message.variable.version
        self._queue.put(Update.from_proto(message))

    def _reopen(self) -> bool:
        request = pb.WatchVariablesRequest()
        request.CopyFrom(self._request)
        request.resume_after = self.cursor
        request.include_initial_values = True  # the catch-up when the bridge cannot resume
        with self._lock:
            if self._cancelled:
                return False
            self._call, self._endpoint = self._client.open_watch(request)
        return True

    def next(self, timeout: Optional[float] = None) -> Update:
        """The next update; TimeoutError after `timeout` seconds; StopIteration at the end."""
        if self._done:
            raise StopIteration
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no watch update within {timeout} s") from None
        if item is _END:
            self._done = True
            raise StopIteration
        if isinstance(item, _Failure):
            self._done = True
            raise item.error
        return item

    def __iter__(self) -> "Watch":
        return self

    def __next__(self) -> Update:
        return self.next()

    def take(self, count: int, timeout: float = 5.0) -> List[Update]:
        """The next `count` updates, waiting at most `timeout` seconds in total."""
        deadline = time.monotonic() + timeout
        return [self.next(timeout=max(0.0, deadline - time.monotonic())) for _ in range(count)]

    def cancel(self) -> None:
        """Ends the stream; idempotent. Pending updates already received stay readable."""
        with self._lock:
            self._cancelled = True
            self._call.cancel()
        self._thread.join(timeout=5)

    close = cancel

    @property
    def active(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> "Watch":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.cancel()


class _Entry:
    __slots__ = ("id", "name", "version", "value", "copy")

    def __init__(self, record: VariableRecord):
        self.id = record.id
        self.name = record.name
        self.version = record.version
        self.value = record.value
        self.copy = record.type in ("embedding", "tensor")


class _Held:
    __slots__ = ("entries", "floors", "pins", "deleted_ids")

    def __init__(self) -> None:
        self.entries: Dict[str, _Entry] = {}  # by id
        self.floors: Dict[str, float] = {}
        self.pins: Dict[str, str] = {}
        self.deleted_ids: "OrderedDict[str, None]" = OrderedDict()


class VariableCache:
    """Read cache fed by one WatchVariables stream (include_initial_values, prefer_binary).

    Freshness guarantee (README, "Read cache"): a cached read of x returns the value carried by
    the most recent message about x that the stream delivered, and only when that version is at
    least the version of this client's own latest completed write to x; otherwise -- x not
    delivered yet, own write not yet echoed, stream down or reconnecting, or silent for longer
    than `max_silence` -- the read goes to the server. Entries come only from the stream, never
    from reads, so nothing stays cached that the stream does not keep current.
    """

    def __init__(self, client: Any, session_id: str, names_or_pattern: NamesOrPattern,
                 aliases: Dict[str, str], max_silence: Optional[float] = None,
                 retry_initial: float = 0.05, retry_max: float = 1.0):
        self._client = client
        self._session_id = session_id
        self._selector = names_or_pattern
        self._aliases = aliases  # name <-> id, shared with the session
        self._max_silence = max_silence
        self._retry = (retry_initial, retry_max)
        self._entries: Dict[str, _Entry] = {}  # by name and by id
        # While the stream is down: what it had built (entries, floors, pins, deletions), kept
        # for a resume and never served meanwhile; a catch-up from a snapshot drops it.
        self._held: Optional[_Held] = None
        self._cursor = ""  # of the last message the stream delivered; resume_after on reconnect
        self._floors: Dict[str, float] = {}  # identifier -> version own writes reached
        # name -> id this client registered under it, until the stream delivers that id: older
        # messages still in flight about a variable the name belonged to before are skipped.
        self._pins: Dict[str, str] = {}
        # ids whose deletion the stream delivered lately (an own delete may return after that).
        self._deleted_ids: "OrderedDict[str, None]" = OrderedDict()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._changed = threading.Condition(self._lock)
        self._call: Any = None
        self._last_message = 0.0
        self.hits = 0
        self.misses = 0
        self.connects = 0
        self.breaks = 0
        self.resumes = 0  # reconnects where the bridge honoured resume_after (no snapshot)
        self.last_error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, name="dspex-bridge-cache", daemon=True)
        self._thread.start()

    # -- reads (hot path: no lock; dict.get is atomic) ---------------------------------------
    def lookup(self, identifier: str) -> Any:
        entry = self._entries.get(identifier)
        if entry is None or (self._max_silence is not None and time.monotonic() - self._last_message > self._max_silence):
            self.misses += 1
            return MISS
        self.hits += 1
        value = entry.value
        if entry.copy:  # callers may mutate what they get; the cache must not change with them
            return list(value) if isinstance(value, list) else {"shape": list(value["shape"]), "data": list(value["data"])}
        return value

    @property
    def selector(self) -> NamesOrPattern:
        """The names or pattern this cache watches (None: every variable)."""
        return self._selector

    @property
    def max_silence(self) -> Optional[float]:
        return self._max_silence

    def cached_version(self, identifier: str) -> Optional[int]:
        entry = self._entries.get(identifier)
        return entry.version if entry else None

    @property
    def live(self) -> bool:
        """True while the stream is connected and has delivered at least one message."""
        return self._call is not None and self._last_message > 0.0

    def wait_until_cached(self, *identifiers: str, version: Optional[int] = None, timeout: float = 5.0) -> bool:
        """Waits until every identifier is served from the cache (at `version` or later)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                ready = all(
                    (e := self._entries.get(i)) is not None and (version is None or e.version >= version)
                    for i in identifiers
                )
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0:
                    return ready
                self._changed.wait(remaining)

    # -- own writes ----------------------------------------------------------------------------
    def _keys(self, identifier: str) -> Tuple[str, ...]:
        alias = self._aliases.get(identifier)
        return (identifier, alias) if alias else (identifier,)

    def note_write(self, identifier: str, version: float) -> None:
        """This client committed `version` of identifier: stop serving older cached values."""
        with self._lock:
            self._raise_floor(identifier, version)

    def note_delete(self, identifier: str) -> None:
        """This client deleted identifier: bar it until the stream delivers the deletion."""
        with self._lock:
            held = self._held.deleted_ids if self._held else {}
            if any(key in self._deleted_ids or key in held for key in self._keys(identifier)):
                return  # delivered already: nothing older about that variable can follow
            self._raise_floor(identifier, math.inf)

    def _raise_floor(self, identifier: str, version: float) -> None:
        for key in self._keys(identifier):
            if version > self._floors.get(key, 0):
                self._floors[key] = version
            entry = self._entries.get(key)
            if entry is not None and entry.version < version:
                self._drop(entry)

    def note_register(self, name: str, var_id: str) -> None:
        """This client registered `var_id` as `name`: a variable cached under that name before
        (deleted meanwhile, the stream not caught up yet) must no longer answer for it."""
        with self._lock:
            self._floors.pop(name, None)
            self._floors.pop(var_id, None)
            self._pins[name] = var_id
            entry = self._entries.get(name)
            if entry is not None and entry.id != var_id:
                self._drop(entry)

    def _drop(self, entry: _Entry) -> None:
        for key in (entry.id, entry.name):
            if self._entries.get(key) is entry:
                del self._entries[key]

    # -- the stream ----------------------------------------------------------------------------
    def _apply(self, message: "pb.VariableUpdate") -> None:
        kind = message.update_type
        if kind == "heartbeat":
            return
        record = VariableRecord.from_proto(message.variable) if message.variable.type else None
        with self._changed:
            if kind == "deleted":
                for key in (message.variable_id, record.name if record else ""):
                    entry = self._entries.get(key)
                    if entry is not None and entry.id == message.variable_id:
                        self._drop(entry)
                if record is not None and self._pins.get(record.name) == message.variable_id:
                    del self._pins[record.name]
                # An own delete bars the id and the name; once the stream delivered that very
                # deletion, nothing older about the variable can follow: a later variable of
                # that name is cacheable again (own writes to it keep their floor by its id).
                own_delete = self._floors.pop(message.variable_id, None) == math.inf
                if own_delete and record is not None and self._floors.get(record.name) == math.inf:
                    del self._floors[record.name]
                self._deleted_ids[message.variable_id] = None
                if len(self._deleted_ids) > _DELETIONS_REMEMBERED:
                    self._deleted_ids.popitem(last=False)
            elif record is not None:
                pinned = self._pins.get(record.name)
                if pinned is not None:
                    if pinned != record.id:  # about the variable the name had before ours
                        return
                    del self._pins[record.name]
                self._aliases[record.name] = record.id
                self._aliases[record.id] = record.name
                floor = max(self._floors.get(record.id, 0), self._floors.get(record.name, 0))
                current = self._entries.get(record.name)
                if current is not None and current.id == record.id and current.version >= record.version:
                    return
                if current is not None:
                    self._drop(current)
                if record.version >= floor:
                    self._floors.pop(record.id, None)
                    self._floors.pop(record.name, None)
                    entry = _Entry(record)
                    self._entries[record.id] = entry
                    self._entries[record.name] = entry
            self._changed.notify_all()

    def _clear(self) -> None:
        with self._changed:
            self._held = None
            self._reset()
            self._cursor = ""
            self._last_message = 0.0
            self._changed.notify_all()

    def _reset(self) -> None:
        self._entries = {}
        self._floors = {}
        self._pins = {}
        self._deleted_ids = OrderedDict()

    def _hold(self) -> None:
        """The stream broke: stop serving at once, but keep what it built for a resume. Own
        writes meanwhile start fresh floors: a catch-up keeps those and drops the held ones
        (the snapshot it reads already holds every write completed before it), as before."""
        with self._changed:
            held = self._held or _Held()
            for entry in self._entries.values():
                held.entries[entry.id] = entry
            for key, version in self._floors.items():
                held.floors[key] = max(version, held.floors.get(key, 0))
            held.pins.update(self._pins)
            held.deleted_ids.update(self._deleted_ids)
            self._held = held
            self._reset()
            self._last_message = 0.0
            self._changed.notify_all()

    def _resume(self) -> None:
        """The bridge honoured resume_after: every change after the cursor follows, so what was
        held is current again, together with own writes, deletes and registrations since."""
        with self._changed:
            held, self._held = self._held, None
            if held is None:
                return
            for key, version in self._floors.items():
                held.floors[key] = max(version, held.floors.get(key, 0))
            held.pins.update(self._pins)
            held.deleted_ids.update(self._deleted_ids)
            while len(held.deleted_ids) > _DELETIONS_REMEMBERED:
                held.deleted_ids.popitem(last=False)
            self._floors, self._pins, self._deleted_ids = held.floors, held.pins, held.deleted_ids
            for entry in held.entries.values():
                floor = max(self._floors.get(entry.id, 0), self._floors.get(entry.name, 0))
                pinned = self._pins.get(entry.name)
                if entry.version >= floor and (pinned is None or pinned == entry.id):
                    self._entries[entry.id] = entry
                    self._entries[entry.name] = entry
            self._changed.notify_all()

    def _catch_up(self) -> None:
        """The bridge could not resume: a snapshot follows; what was held is dropped."""
        with self._changed:
            self._held = None
            self._cursor = ""

    def _run(self) -> None:
        delay = self._retry[0]
        while not self._stop.is_set():
            request = watch_request(self._session_id, self._selector, include_initial=True)
            request.resume_after = self._cursor  # include_initial_values is the fallback
            endpoint = None
            first = True
            try:
                call, endpoint = self._client.open_watch(request)
                self._call = call
                if self._stop.is_set():
                    call.cancel()
                self.connects += 1
                for message in call:
                    self._last_message = time.monotonic()
                    delay = self._retry[0]
                    if first:
                        first = False
                        if message.update_type == "resumed":
                            self.resumes += 1
                            self._resume()
                            continue
                        self._catch_up()
                    if message.cursor:
                        self._cursor = message.cursor
                    self._apply(message)
            except grpc.RpcError as error:
                if not self._stop.is_set():
                    self.last_error = from_rpc_error(error, "WatchVariables (cache)")
                    if endpoint is not None and is_transport_failure(error):
                        self._client.lost(endpoint)
                    if first and refuses_cursor(error, request.resume_after):
                        self._cursor = ""
            except BridgeError as error:
                self.last_error = error
            finally:
                self._call = None
                self._hold()
            if self._stop.is_set():
                break
            self.breaks += 1
            self._stop.wait(delay)
            delay = min(delay * 2, self._retry[1])

    def close(self) -> None:
        """Stops the stream and empties the cache; idempotent."""
        self._stop.set()
        call = self._call
        if call is not None:
            call.cancel()
        self._thread.join(timeout=5)
        self._clear()
