"""`forge decisions|threads|conflicts|revalidate|resolve|choose`: the knowledge graph from a shell."""

from __future__ import annotations

import argparse
import sys

from forge_tui.commands.output import rows_or_note
from forge_tui.domain.models import utcnow


def add_parser(subparsers) -> None:
    def project_option(p) -> None:
        # SUPPRESS keeps `forge --project P decisions` working (the global option has the same dest)
        p.add_argument("--project", default=argparse.SUPPRESS, help="project (default: the configured one)")

    p = subparsers.add_parser("decisions", help="list a project's decisions")
    project_option(p)
    p.add_argument("--all", action="store_true", help="include superseded and rejected decisions")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_decisions)

    p = subparsers.add_parser("threads", help="list a project's threads")
    project_option(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_threads)

    p = subparsers.add_parser("conflicts", help="conflicts awaiting a choice, and cross-project clashes")
    p.add_argument("--project", default=argparse.SUPPRESS, help="only conflicts involving this project")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_conflicts)

    p = subparsers.add_parser("revalidate", help="confirm a decision still holds (resets its decay)")
    p.add_argument("id", help="decision id, e.g. D001")
    project_option(p)
    p.set_defaults(func=cmd_revalidate)

    p = subparsers.add_parser("resolve", help="close a thread")
    p.add_argument("id", help="thread id, e.g. T001")
    project_option(p)
    p.add_argument("--abandon", action="store_true", help="close it as ABANDONED instead of RESOLVED")
    p.add_argument("--note", default="", help="how it was resolved")
    p.set_defaults(func=cmd_resolve)

    p = subparsers.add_parser("choose", help="settle a conflict: keep_both, supersede or reject")
    p.add_argument("id", help="conflict id, e.g. C001")
    p.add_argument("choice", choices=["keep_both", "supersede", "reject"])
    p.add_argument("--project", default=argparse.SUPPRESS, help="the conflict's project when ids repeat")
    p.set_defaults(func=cmd_choose)


def _registry(ctx):
    from forge_tui.knowledge.registry import Registry

    registry = Registry(ctx.store().db)
    registry.ensure_schema()
    return registry


def _project(args, ctx) -> str:
    return getattr(args, "project", None) or ctx.settings().project


def _fail(message: str) -> int:
    print(f"forge: {message}", file=sys.stderr)
    return 2


def cmd_decisions(args, ctx) -> int:
    from forge_tui.knowledge.view import decision_row

    project, settings, now = _project(args, ctx), ctx.settings(), utcnow()
    decisions = _registry(ctx).decisions(project, include_inactive=args.all)
    rows = [decision_row(d, now, settings) for d in decisions]
    if not rows_or_note(rows, args.json, f"No {'' if args.all else 'active '}decisions in project '{project}'."):
        return 0
    for r in rows:
        flags = []
        if r["status"] != "active":
            flags.append(r["status"] + (f" by {r['superseded_by']}" if r["superseded_by"] else ""))
        if r["decay"]:
            flags.append("needs revalidation: " + r["decay_reason"])
        if r["supersedes"]:
            flags.append("supersedes " + ", ".join(r["supersedes"]))
        settled = set(r["supersedes"]) | {r["superseded_by"]}
        open_clashes = [c for c in r["conflicts_with"] if c not in settled]
        if open_clashes:
            flags.append("conflicts with " + ", ".join(open_clashes))
        scope = f" [{r['scope']}]" if r["scope"] else ""
        note = f"  ({'; '.join(flags)})" if flags else ""
        print(f"{r['id']}  tier {r['tier']:.1f}  {r['priority']:<8} {r['text']}{scope}{note}")
    return 0


def cmd_threads(args, ctx) -> int:
    from forge_tui.knowledge.view import thread_row

    project = _project(args, ctx)
    rows = [thread_row(t) for t in _registry(ctx).threads(project)]
    if not rows_or_note(rows, args.json, f"No threads in project '{project}'."):
        return 0
    for r in rows:
        note = f"  — {r['resolution']}" if r["resolution"] else ""
        print(f"{r['id']}  {r['status']:<9} {r['priority']:<8} {r['title']}{note}")
    return 0


def cmd_conflicts(args, ctx) -> int:
    from forge_tui.knowledge.view import conflict_row

    registry = _registry(ctx)
    rows = [conflict_row(registry, c) for c in registry.pending_conflicts(getattr(args, "project", None))]
    if not rows_or_note(rows, args.json, "No conflicts awaiting a choice."):
        return 0
    for r in rows:
        other = r["existing"] if r["existing_project"] == r["project"] else f"{r['existing_project']}/{r['existing']}"
        head = "BLOCKED cross-project" if r["kind"] == "cross_project" else "PENDING"
        print(f"{r['project']}/{r['id']}  {head}: {r['new']} \"{r['new_text']}\" vs {other} \"{r['existing_text']}\"")
        print(f"    {r['reason']}; choose with `forge choose {r['id']} {'|'.join(r['choices'])} --project {r['project']}`")
    return 0


def cmd_revalidate(args, ctx) -> int:
    from forge_tui.knowledge.errors import KnowledgeError

    try:
        d = _registry(ctx).revalidate(_project(args, ctx), args.id, who="cli")
    except KnowledgeError as exc:
        return _fail(str(exc))
    print(f"{d.id} revalidated: {d.text}")
    return 0


def cmd_resolve(args, ctx) -> int:
    from forge_tui.knowledge.errors import KnowledgeError

    status = "ABANDONED" if args.abandon else "RESOLVED"
    try:
        t = _registry(ctx).resolve_thread(_project(args, ctx), args.id, status=status, resolution=args.note, who="cli")
    except KnowledgeError as exc:
        return _fail(str(exc))
    print(f"{t.id} {t.status.lower()}: {t.title}")
    return 0


def cmd_choose(args, ctx) -> int:
    from forge_tui.knowledge.errors import KnowledgeError

    try:
        c = _registry(ctx).choose(args.id, args.choice, project=getattr(args, "project", None), who="cli")
    except KnowledgeError as exc:
        return _fail(str(exc))
    print(f"{c.project}/{c.id} settled: {c.choice}")
    return 0
