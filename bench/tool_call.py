"""CPU per create-task call in process, without HTTP: what the tool call itself costs.

    .venv/bin/python -m bench.tool_call                 # SQLite, 3 rounds of 640 calls each way
    .venv/bin/python -m bench.tool_call --calls 3200

Three ways, interleaved round by round, on one SQLite database each:

  naive   the naive app's work (bench/apps/naive.py): one SQLModel row and a commit
  alone   crewcall's create_task through the Runner, one transaction per call
  group   the same calls 32 at a time through `Database.run_together` (group commit), as the
          database thread runs them when requests arrive together

CPU is this thread's time (`time.thread_time`); the report gives the best round of each way
(the least disturbed by the rest of this shared machine) and the ratios to naive.
"""

from __future__ import annotations

import argparse
import json
import secrets
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlmodel import SQLModel

from bench.apps.naive import BenchRow
from bench.create_task import task_body
from server.app import build_state
from server.db import Database
from server.settings import Settings
from tools.registry import registry
from tools.runner import Call

GROUP = 32


def crewcall(tmp: Path) -> tuple[Callable[[], Any], Database]:
    settings = Settings(data_dir=tmp / "crewcall", inprocess_worker=False, scheduler=False)
    state = build_state(settings)
    state.db.migrate()
    state.services.geocoder.warm()  # type: ignore[attr-defined]
    tools = registry()
    signup = Call(tool=tools["signup_developer"], arguments={"email": "bench@example.com", "name": "Bench"})
    key = state.runner(signup).data()["api_key"]
    raw = json.dumps(task_body()).encode()

    def create() -> Any:  # as REST hands it over: arguments parsed from the body
        return state.runner(Call(tool=tools["create_task"], arguments=orjson.loads(raw), token=key))

    return create, state.db


def naive(tmp: Path) -> Callable[[], Any]:
    db = Database(f"sqlite:///{tmp / 'naive.db'}")
    SQLModel.metadata.create_all(db.engine, tables=[BenchRow.__table__])  # type: ignore[attr-defined]
    raw = json.dumps(task_body()).encode()

    def insert() -> Any:
        data = json.loads(raw)
        with db(write=True) as session:
            now = datetime.now(UTC)
            row = BenchRow(id="row_" + secrets.token_hex(8), title=data["title"], body=data, created_at=now)
            session.add(row)
            session.commit()
            return row.model_dump_json()

    return insert


def cpu_per_call(run: Callable[[int], None], calls: int) -> float:
    start = time.thread_time()
    run(calls)
    return (time.thread_time() - start) * 1e6 / calls


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=640, help="calls per round and way (a multiple of 32)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    calls = max(GROUP, args.calls // GROUP * GROUP)

    with tempfile.TemporaryDirectory(prefix="cc-bench-tool-") as tmpdir:
        tmp = Path(tmpdir)
        create, db = crewcall(tmp)
        insert = naive(tmp)

        def one_by_one(call: Callable[[], Any]) -> Callable[[int], None]:
            def run(count: int) -> None:
                for _ in range(count):
                    call()

            return run

        def grouped(count: int) -> None:
            for _ in range(count // GROUP):
                for _result, error in db.run_together([create] * GROUP):
                    if error is not None:
                        raise error

        ways = {"naive": one_by_one(insert), "alone": one_by_one(create), "group": grouped}
        for run in ways.values():  # warm caches, the geocoder's memo, SQLite's pages
            run(GROUP)
        best = {name: float("inf") for name in ways}
        for round_no in range(1, args.rounds + 1):
            for name, run in ways.items():
                micros = cpu_per_call(run, calls)
                best[name] = min(best[name], micros)
                print(f"  round {round_no}  {name:5} {micros:7.0f} µs of CPU per call", flush=True)
        db.dispose()

    print()
    print(f"_{calls} calls per round, best of {args.rounds} rounds, SQLite, {datetime.now(UTC):%Y-%m-%d}_")
    print()
    print("| way | µs of CPU per call | ÷ naive |")
    print("| --- | ---: | ---: |")
    for name, micros in best.items():
        print(f"| {name} | {micros:.0f} | {micros / best['naive']:.2f}× |")


if __name__ == "__main__":
    main()
