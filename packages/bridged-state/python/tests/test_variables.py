"""Every variable method against a real server: register, get, get_record, set, get_many,
update_many, list, delete, dict and attribute access."""

import math
import time
from datetime import datetime, timezone

import pytest

from dspex_bridge import (
    BatchUpdateError,
    NotFoundError,
    ValidationError,
    VersionConflictError,
)


def test_register_get_and_record(ctx):
    before = datetime.now(timezone.utc)
    var_id = ctx.register("temperature", "float", 0.7, constraints={"min": 0.0, "max": 2.0}, metadata={"owner": "opt"})
    assert var_id and ctx.get("temperature") == 0.7
    record = ctx.get_record("temperature")
    assert (record.id, record.name, record.type, record.value, record.version) == (var_id, "temperature", "float", 0.7, 1)
    assert record.constraints == {"min": 0.0, "max": 2.0}
    assert record.metadata == {"owner": "opt", "source": "python"}
    assert record.source == "python"
    assert record.created_at is not None and record.created_at >= before.replace(microsecond=0)
    assert record.updated_at == record.created_at


def test_set_returns_new_versions_and_merges_metadata(ctx):
    ctx.register("temperature", "float", 0.7, metadata={"owner": "opt"})
    created = ctx.get_record("temperature").created_at
    time.sleep(0.01)
    assert ctx.set("temperature", 0.9) == 2
    assert ctx.set("temperature", 1, metadata={"step": "3"}) == 3
    record = ctx.get_record("temperature")
    assert record.value == 1.0 and isinstance(record.value, float)
    assert record.version == 3
    assert record.metadata == {"owner": "opt", "source": "python", "step": "3"}
    assert record.created_at == created and record.updated_at > created


def test_compare_and_set(ctx):
    ctx.register("n", "integer", 1)
    assert ctx.set("n", 2, expected_version=1) == 2
    with pytest.raises(VersionConflictError) as conflict:
        ctx.set("n", 3, expected_version=1)
    assert conflict.value.current_version == 2
    assert "version 2" in str(conflict.value)
    assert ctx.get_record("n").value == 2  # the failed write changed nothing


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_expected_version_must_be_a_positive_integer(ctx, bad):
    ctx.register("n", "integer", 1)
    with pytest.raises(ValidationError, match="expected_version"):
        ctx.set("n", 2, expected_version=bad)
    assert ctx.get_record("n").version == 1


def test_get_by_id_and_set_by_id(ctx):
    var_id = ctx.register("model", "choice", "gpt-4", constraints={"choices": ["gpt-4", "claude"]})
    assert ctx.get(var_id) == "gpt-4"
    assert ctx.set(var_id, "claude") == 2
    assert ctx.get("model") == "claude"


def test_get_with_default(ctx):
    assert ctx.get("missing", default=None) is None
    assert ctx.get("missing", 42) == 42
    with pytest.raises(NotFoundError):
        ctx.get("missing")


def test_get_many_skips_missing(ctx):
    ctx.register("a", "integer", 1)
    b_id = ctx.register("b", "string", "x")
    assert ctx.get_many(["a", b_id, "nope"]) == {"a": 1, b_id: "x"}
    records = ctx.get_records(["a", "nope"])
    assert list(records) == ["a"] and records["a"].version == 1


def test_update_many_atomic_applies_nothing_on_any_failure(ctx):
    ctx.register("a", "integer", 1)
    ctx.register("b", "float", 0.5, constraints={"max": 1.0})
    assert ctx.update_many({"a": 2, "b": 0.75}) == {"a": 2, "b": 2}
    with pytest.raises(BatchUpdateError) as failure:
        ctx.update_many({"a": 3, "b": 5.0, "ghost": 1})
    assert set(failure.value.errors) == {"b", "ghost"}
    assert "not found" in failure.value.errors["ghost"]
    assert failure.value.applied == {} and failure.value.atomic
    assert ctx.get_many(["a", "b"]) == {"a": 2, "b": 0.75}


def test_update_many_non_atomic_applies_what_passes(ctx):
    ctx.register("a", "integer", 1)
    ctx.register("b", "float", 0.5, constraints={"max": 1.0})
    with pytest.raises(BatchUpdateError) as failure:
        ctx.update_many({"a": 3, "b": 5.0}, atomic=False)
    assert set(failure.value.errors) == {"b"} and failure.value.applied == {"a": 2}
    assert ctx.get_many(["a", "b"]) == {"a": 3, "b": 0.5}


def test_update_many_with_expected_versions(ctx):
    ctx.register("a", "integer", 1)
    ctx.register("b", "integer", 1)
    assert ctx.update_many({"a": 2, "b": 2}, expected_versions={"a": 1, "b": 1}) == {"a": 2, "b": 2}
    with pytest.raises(BatchUpdateError) as failure:
        ctx.update_many({"a": 3, "b": 3}, expected_versions={"a": 2, "b": 1})
    assert list(failure.value.errors) == ["b"] and "version" in failure.value.errors["b"]
    assert ctx.get_many(["a", "b"]) == {"a": 2, "b": 2}
    with pytest.raises(ValidationError, match="not in updates"):
        ctx.update_many({"a": 3}, expected_versions={"b": 2})


def test_update_many_writes_are_tagged_python(ctx):
    ctx.register("a", "integer", 1, metadata={"source": "typescript"})
    ctx.update_many({"a": 2}, metadata={"run": "7"})
    record = ctx.get_record("a")
    assert record.source == "python" and record.metadata["run"] == "7"


def test_list_with_and_without_pattern(ctx):
    for name in ("lm.temperature", "lm.top_p", "retriever.k"):
        ctx.register(name, "float", 0.5)
    assert sorted(r.name for r in ctx.list()) == ["lm.temperature", "lm.top_p", "retriever.k"]
    assert sorted(r.name for r in ctx.list("lm.*")) == ["lm.temperature", "lm.top_p"]
    assert [r.name for r in ctx.list("retriever.?")] == ["retriever.k"]
    assert ctx.list("nothing*") == []


def test_delete(ctx):
    var_id = ctx.register("gone", "boolean", True)
    ctx.delete("gone")
    with pytest.raises(NotFoundError, match="not found"):
        ctx.get(var_id)
    with pytest.raises(NotFoundError, match="not found"):
        ctx.delete("gone")
    ctx.register("gone", "string", "again")  # the name is free again, with a new type
    assert ctx.get("gone") == "again"


def test_dict_access(ctx):
    ctx.register("temperature", "float", 0.7)
    ctx.register("k", "integer", 3)
    assert ctx["temperature"] == 0.7
    ctx["temperature"] = 0.8
    assert ctx["temperature"] == 0.8
    assert "k" in ctx and "nope" not in ctx and 5 not in ctx
    assert sorted(ctx) == ["k", "temperature"] and len(ctx) == 2
    assert ctx.to_dict() == {"temperature": 0.8, "k": 3}
    del ctx["k"]
    with pytest.raises(KeyError):  # NotFoundError is a KeyError, as for a dict
        ctx["k"]


def test_attribute_access(ctx):
    ctx.register("temperature", "float", 0.7)
    assert ctx.temperature == 0.7
    ctx.temperature = 1.2
    assert ctx.get_record("temperature").value == 1.2
    assert not hasattr(ctx, "missing")
    assert getattr(ctx, "missing", "default") == "default"
    with pytest.raises(NotFoundError):
        ctx.missing
    with pytest.raises(AttributeError, match="ctx\\['get'\\]"):
        ctx.get = 1  # a method name: must use the item form
    ctx.register("session_id", "string", "a variable")
    with pytest.raises(AttributeError, match="ctx\\['session_id'\\]"):
        ctx.session_id = "other"  # the context's own attribute, read as ctx.session_id too
    assert ctx["session_id"] == "a variable" and ctx.session_id.startswith("test-")
    del ctx.temperature
    assert "temperature" not in ctx


@pytest.mark.parametrize("name", ["session_id", "created", "get", "_cache"])
def test_del_of_an_own_attribute_or_method_name_is_refused_and_deletes_nothing(ctx, name):
    session_id = ctx.session_id
    ctx.register(name, "string", "a variable")
    with pytest.raises(AttributeError, match=f"del ctx\\['{name}'\\]"):
        delattr(ctx, name)  # del ctx.session_id: the context's own attribute, not the variable
    assert ctx[name] == "a variable" and ctx.session_id == session_id
    del ctx[name]  # the item form deletes the variable
    assert name not in ctx


def test_special_floats_round_trip(ctx):
    ctx.register("x", "float", math.inf)
    assert ctx.get("x") == math.inf
    ctx.set("x", -math.inf)
    assert ctx.get("x") == -math.inf
    ctx.set("x", math.nan)
    assert math.isnan(ctx.get("x"))


def test_ndarray_like_values_are_accepted(ctx):
    class FakeArray:  # the duck type numpy arrays satisfy (numpy itself is optional)
        def __init__(self, rows):
            self.rows = rows
            self.shape = (len(rows), len(rows[0])) if isinstance(rows[0], list) else (len(rows),)

        def reshape(self, _):
            flat = [x for row in self.rows for x in row] if len(self.shape) == 2 else list(self.rows)
            return FakeArray(flat)

        def tolist(self):
            return self.rows

    ctx.register("e", "embedding", FakeArray([1.0, 2.0, 3.0]))
    assert ctx.get("e") == [1.0, 2.0, 3.0]
    ctx.register("t", "tensor", FakeArray([[1.0, 2.0], [3.0, 4.0]]))
    assert ctx.get("t") == {"shape": [2, 2], "data": [1.0, 2.0, 3.0, 4.0]}
    ctx.set("t", [[5, 6], [7, 8]])  # nested lists work as tensors too
    assert ctx.get("t") == {"shape": [2, 2], "data": [5.0, 6.0, 7.0, 8.0]}


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "1"])
def test_update_many_expected_versions_follow_the_same_rule_as_set(ctx, bad):
    # 0 would mean "no expectation" on the wire: the batch would apply unconditionally.
    ctx.register("a", "integer", 1)
    ctx.set("a", 2)
    with pytest.raises(ValidationError, match="expected_version"):
        ctx.update_many({"a": 3}, expected_versions={"a": bad})
    record = ctx.get_record("a")
    assert (record.value, record.version) == (2, 2)


def test_history_reads_versions_newest_first_and_goes_back_to_the_best(ctx):
    ctx.register("score", "float", 0.2, metadata={"trial": "0"})
    for trial, value in enumerate([0.9, 0.4, 0.6], start=1):
        ctx.set("score", value, metadata={"trial": str(trial)})
    history = ctx.history("score")
    assert [(r.version, r.value, r.metadata["trial"]) for r in history] == [
        (4, 0.6, "3"), (3, 0.4, "2"), (2, 0.9, "1"), (1, 0.2, "0")]
    assert all(r.source == "python" and r.name == "score" for r in history)
    assert [r.version for r in ctx.history("score", limit=2)] == [4, 3]
    best = max(history, key=lambda r: r.value)
    assert ctx.set("score", best.value) == 5 and ctx.get("score") == 0.9
    assert ctx.history(history[0].id, limit=1)[0].value == 0.9


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_history_limit_must_be_a_positive_integer(ctx, bad):
    ctx.register("n", "integer", 1)
    with pytest.raises(ValidationError, match="limit"):
        ctx.history("n", limit=bad)


def test_history_of_an_unknown_or_deleted_variable_is_not_found(ctx):
    ctx.register("gone", "integer", 1)
    ctx.set("gone", 2)
    ctx.delete("gone")
    with pytest.raises(NotFoundError, match="not found"):
        ctx.history("gone")
