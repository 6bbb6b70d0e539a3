from __future__ import annotations

import httpx
import pytest

from server.cli import main
from tests.conftest import LiveServer


def test_the_demo_walks_a_task_to_payout_and_shows_the_85_15_split(
    api: httpx.Client, server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["demo", "--url", server.url])
    out = capsys.readouterr().out
    steps = [line.split()[1] for line in out.splitlines() if line[:3].strip().rstrip(".").isdigit()]
    assert steps == [
        "signup", "talent", "create", "request", "talent", "accept", "payment", "book", "check",
        "upload", "deliver", "QA", "accept", "ledger",
    ]  # fmt: skip
    assert "QA               passed" in out
    assert "split 85/15" in out


def test_the_demo_exits_non_zero_with_the_error_envelope(
    server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--url", server.url + "/nowhere"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "signup failed: HTTP 404" in err
    assert '"code":"NOT_FOUND"' in err.replace(" ", "")


def test_the_demo_says_when_the_server_is_unreachable(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--url", "http://127.0.0.1:9"])
    assert exit_info.value.code == 1
    assert "cannot reach" in capsys.readouterr().err
