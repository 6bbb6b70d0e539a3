"""The runner: one transaction per call, so a tool either fully happens or leaves no trace."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ConfigDict
from sqlmodel import select

from tests.conftest import LiveServer
from tools.errors import PolicyBlocked, ToolError
from tools.ids import new_id
from tools.models import AuditEntry
from tools.registry import tool
from tools.runner import Call


class Write(BaseModel):
    model_config = ConfigDict(extra="forbid")

    marker: str
    fail: bool = False


class Written(BaseModel):
    marker: str


@tool(method="POST", path="/test/write", scope=None)
def write_then_maybe_fail(ctx, cmd: Write) -> Written:  # type: ignore[no-untyped-def]
    """Write an audit row, then fail if asked."""
    ctx.session.add(
        AuditEntry(
            id=new_id("aud"),
            owner_id="test",
            entity_type="t",
            entity_id=cmd.marker,
            action="write",
            created_at=datetime.now(UTC),
        )
    )
    ctx.session.flush()
    if cmd.fail:
        raise PolicyBlocked("refused after writing")
    return Written(marker=cmd.marker)


SPEC = write_then_maybe_fail.__tool__  # type: ignore[attr-defined]


def _rows(server: LiveServer, marker: str) -> int:
    with server.state.db(write=False) as session:
        return len(session.exec(select(AuditEntry).where(AuditEntry.entity_id == marker)).all())


def test_a_successful_call_commits(server: LiveServer) -> None:
    marker = new_id("m")
    result = server.state.runner(Call(tool=SPEC, arguments={"marker": marker}))
    assert result.data() == {"marker": marker}
    assert _rows(server, marker) == 1


def test_a_refused_call_leaves_no_trace(server: LiveServer) -> None:
    marker = new_id("m")
    with pytest.raises(PolicyBlocked):
        server.state.runner(Call(tool=SPEC, arguments={"marker": marker, "fail": True}))
    assert _rows(server, marker) == 0


def test_a_failed_call_frees_its_idempotency_key(server: LiveServer) -> None:
    marker = new_id("m")
    with pytest.raises(ToolError):
        server.state.runner(Call(tool=SPEC, arguments={"marker": marker, "fail": True}, idempotency_key=marker))
    # nothing was stored for the failure, so the corrected request may reuse the key
    ok = server.state.runner(Call(tool=SPEC, arguments={"marker": marker}, idempotency_key=marker))
    again = server.state.runner(Call(tool=SPEC, arguments={"marker": marker}, idempotency_key=marker))
    assert (ok.replayed, again.replayed) == (False, True)
    assert again.body == ok.body
    assert _rows(server, marker) == 1
