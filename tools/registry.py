"""The one registry of tools. REST routes, MCP tools, OpenAPI and llms.txt all derive from it."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True)
class ToolSpec:
    name: str  #: snake_case verb_noun: the MCP tool name, OpenAPI operationId and route name
    func: Callable[..., BaseModel]
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    method: str
    path: str
    scope: str | None  #: the key scope needed; None for public calls
    status_code: int
    title: str
    summary: str  #: the docstring's first line
    description: str  #: the whole docstring
    area: str
    read_only: bool
    destructive: bool
    idempotent: bool
    open_world: bool
    money: bool  #: moves money: the tighter rate limit applies
    optional_auth: bool  #: public, but a key is used when one is sent

    @property
    def mutating(self) -> bool:
        return not self.read_only

    @property
    def path_params(self) -> list[str]:
        return [part[1:-1] for part in self.path.split("/") if part.startswith("{")]


_FUNCS: list[ToolSpec] = []


def tool(
    *,
    method: str,
    path: str,
    scope: str | None,
    status: int = 200,
    title: str | None = None,
    read_only: bool | None = None,
    destructive: bool = False,
    idempotent: bool | None = None,
    open_world: bool = False,
    money: bool = False,
    optional_auth: bool = False,
) -> Callable[[Callable[..., BaseModel]], Callable[..., BaseModel]]:
    """Declare a function `(ctx, command) -> output` as a tool."""

    def register(func: Callable[..., BaseModel]) -> Callable[..., BaseModel]:
        hints = typing.get_type_hints(func, localns={"Ctx": object})
        params = list(inspect.signature(func).parameters)
        input_model, output_model = hints[params[1]], hints["return"]
        doc = inspect.cleandoc(func.__doc__ or "")
        if not doc:
            raise TypeError(f"tool {func.__name__} needs a docstring: it is the contract")
        ro = method == "GET" if read_only is None else read_only
        spec = ToolSpec(
            name=func.__name__,
            func=func,
            input_model=input_model,
            output_model=output_model,
            method=method,
            path=path,
            scope=scope,
            status_code=status,
            title=title or func.__name__.replace("_", " ").capitalize(),
            summary=doc.splitlines()[0],
            description=doc,
            area=func.__module__.rsplit(".", 1)[-1],
            read_only=ro,
            destructive=destructive,
            idempotent=ro if idempotent is None else idempotent,
            open_world=open_world,
            money=money,
            optional_auth=optional_auth,
        )
        func.__tool__ = spec  # type: ignore[attr-defined]
        return func

    return register


def _collect(modules: tuple[Any, ...]) -> dict[str, ToolSpec]:
    found: dict[str, ToolSpec] = {}
    for module in modules:
        for obj in vars(module).values():
            spec = getattr(obj, "__tool__", None)
            if spec is not None and obj.__module__ == module.__name__:
                if spec.name in found:
                    raise RuntimeError(f"two tools named {spec.name}")
                found[spec.name] = spec
    return found


_REGISTRY: dict[str, ToolSpec] | None = None


def registry() -> dict[str, ToolSpec]:
    """Every tool, by name, in a stable order (module order, then definition order)."""
    global _REGISTRY
    if _REGISTRY is None:
        from tools import catalog

        _REGISTRY = _collect(catalog.MODULES)
    return _REGISTRY
