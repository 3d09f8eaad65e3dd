"""The event loop's rule, checked on the application as composed (not on a list of routes):

- a route or dependency that takes the database session is a plain `def` (FastAPI runs it in the
  thread pool); an `async def` one would run its queries — and its waits for row locks — on the
  event loop, where one request waiting for a lock held by another stops every request, the other's
  commit included (the PostgreSQL hang of the concurrency issue);
- an `async def` route or dependency never does blocking file or database work in its own body.

Both walks fail with the route and the function that breaks the rule.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap

from fastapi.routing import APIRoute

from assembly.web.deps import SessionDep, get_session

# Calls that block: database work, spooled-file reads, files. (`await x.read()` is the async API.)
BLOCKING = re.compile(r"(?<!await )\b(session|db|writer)\.(execute|scalar|scalars|get|flush|commit|add)\(|"
                      r"unit_of_work\(|\.file\.read\(|\bopen\(")


def _walk(dependant, path=()):
    yield dependant, path
    for sub in dependant.dependencies:
        yield from _walk(sub, (*path, dependant))


def _name(call) -> str:
    return f"{getattr(call, '__module__', '?')}.{getattr(call, '__qualname__', repr(call))}"


def _is_async(call) -> bool:
    return inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call) or \
        (callable(call) and inspect.iscoroutinefunction(type(call).__call__))


def _code_of(call) -> str:
    """The function's code without its docstring (which may name what it must not do)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(call)))
    except (OSError, TypeError):
        return ""
    function = tree.body[0]
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        function.body = body[1:] or [ast.Pass()]
    return ast.unparse(function)


def _routes(app_or_router) -> list[APIRoute]:
    """Every APIRoute, through included routers too (FastAPI keeps an included router as one route
    holding the original router)."""
    found = []
    for route in app_or_router.routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += _routes(route.original_router)
    return found


def test_the_walk_finds_the_voting_routes(app):
    paths = {route.path for route in _routes(app)}
    assert "/estate/{code}/meetings/{meeting}/motions/{motion}/vote" in paths
    assert len(paths) > 100


def test_no_async_route_or_dependency_takes_the_session(app):
    broken = []
    for route in _routes(app):
        for dependant, _path in _walk(route.dependant):
            call = dependant.call
            if call is None or call is get_session or not _is_async(call):
                continue
            takes_session = any(sub.call is get_session for sub in dependant.dependencies)
            if takes_session:
                broken.append(f"{sorted(route.methods)} {route.path}: async {_name(call)} takes the session")
    assert not broken, "make these plain `def` (read the body in an async dependency):\n" + "\n".join(broken)


def test_no_async_route_or_dependency_blocks_in_its_body(app):
    broken = []
    seen = set()
    for route in _routes(app):
        for dependant, _path in _walk(route.dependant):
            call = dependant.call
            if call is None or not _is_async(call) or call in seen:
                continue
            seen.add(call)
            source = _code_of(call)
            if (found := BLOCKING.search(source)) is not None:
                broken.append(f"{route.path}: async {_name(call)} calls {found.group(0)!r}")
    assert not broken, "blocking work on the event loop:\n" + "\n".join(broken)


def test_the_walk_sees_a_route_that_breaks_the_rule(app):
    """The check itself: a route written the old way is found."""
    from fastapi import APIRouter, FastAPI

    probe = FastAPI()
    router = APIRouter()

    @router.post("/probe")
    async def probe_route(session: SessionDep):  # the pattern that hung the server
        return session.execute("select 1")

    probe.include_router(router)
    (route,) = _routes(probe)
    takes = [d for d, _ in _walk(route.dependant)
             if d.call is not None and _is_async(d.call) and any(s.call is get_session for s in d.dependencies)]
    assert [d.call for d in takes] == [probe_route]
    assert BLOCKING.search(_code_of(probe_route))
