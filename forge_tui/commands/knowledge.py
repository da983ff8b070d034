"""`forge decisions|threads|conflicts|revalidate|resolve|choose`: the knowledge graph from a shell.

``forge decisions add/dismiss/edit`` and ``forge threads add/resolve/dismiss/edit``
are the hand corrections (``knowledge.corrections``).
"""

from __future__ import annotations

import argparse
import sys

from forge_tui.commands.output import rows_or_note
from forge_tui.domain.models import utcnow


def add_parser(subparsers) -> None:
    def project_option(p) -> None:
        # SUPPRESS keeps `forge --project P decisions` working (the global option has the same dest)
        p.add_argument("--project", default=argparse.SUPPRESS, help="project (default: the configured one)")

    p = subparsers.add_parser("decisions", help="list a project's decisions and rules; add, dismiss or edit one")
    project_option(p)
    p.add_argument("--all", action="store_true", help="include superseded, rejected and dismissed decisions")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_decisions)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    a = actions.add_parser("add", help="pin a sentence (or a whole turn) as a decision or constraint")
    a.add_argument("text", nargs="?", default="", help="the sentence (default: the turn's text with --turn)")
    a.add_argument("--turn", help="message id the sentence comes from (its source)")
    a.add_argument("--constraint", action="store_true", help="a rule that must keep holding, quoted verbatim")
    project_option(a)
    a.set_defaults(func=cmd_pin, pin_kind=None)
    a = actions.add_parser("dismiss", help="mark a wrong decision dismissed (kept in the audit log)")
    a.add_argument("id", help="decision id, e.g. D004")
    a.add_argument("--why", default="", help="why it is wrong")
    project_option(a)
    a.set_defaults(func=cmd_dismiss)
    a = actions.add_parser("edit", help="reword a decision")
    a.add_argument("id", help="decision id, e.g. D004")
    a.add_argument("text", help="the new wording")
    project_option(a)
    a.set_defaults(func=cmd_edit)

    p = subparsers.add_parser("threads", help="list a project's threads; add, resolve, dismiss or edit one")
    project_option(p)
    p.add_argument("--all", action="store_true", help="include dismissed threads")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_threads)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    a = actions.add_parser("add", help="pin a sentence (or a whole turn) as an open question")
    a.add_argument("text", nargs="?", default="", help="the question (default: the turn's text with --turn)")
    a.add_argument("--turn", help="message id the question comes from")
    project_option(a)
    a.set_defaults(func=cmd_pin, pin_kind="question")
    a = actions.add_parser("resolve", help="mark a thread resolved (or --abandon)")
    a.add_argument("id", help="thread id, e.g. T001")
    a.add_argument("--abandon", action="store_true", help="close it as ABANDONED instead of RESOLVED")
    a.add_argument("--note", default="", help="how it was resolved")
    a.add_argument("--turn", help="message id of the turn that answered it")
    project_option(a)
    a.set_defaults(func=cmd_resolve)
    a = actions.add_parser("dismiss", help="mark a wrong thread dismissed (kept in the audit log)")
    a.add_argument("id", help="thread id, e.g. T002")
    a.add_argument("--why", default="")
    project_option(a)
    a.set_defaults(func=cmd_dismiss)
    a = actions.add_parser("edit", help="retitle a thread")
    a.add_argument("id", help="thread id, e.g. T002")
    a.add_argument("text", help="the new title")
    project_option(a)
    a.set_defaults(func=cmd_edit)

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
    p.set_defaults(func=cmd_resolve, turn=None)

    p = subparsers.add_parser("choose", help="settle a conflict: keep_both, supersede or reject")
    p.add_argument("id", help="conflict id, e.g. C001")
    p.add_argument("choice", choices=["keep_both", "supersede", "reject"])
    p.add_argument("--project", default=argparse.SUPPRESS, help="the conflict's project when ids repeat")
    p.set_defaults(func=cmd_choose)


def _registry(ctx):
    from forge_tui.knowledge.registry import Registry

    return Registry(ctx.store())


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
        if r["pinned"]:
            flags.append("pinned")
        settled = set(r["supersedes"]) | {r["superseded_by"]}
        open_clashes = [c for c in r["conflicts_with"] if c not in settled]
        if open_clashes:
            flags.append("conflicts with " + ", ".join(open_clashes))
        scope = f" [{r['scope']}]" if r["scope"] else ""
        note = f"  ({'; '.join(flags)})" if flags else ""
        kind = "rule: " if r["kind"] == "constraint" else ""
        print(f"{r['id']}  tier {r['tier']:.1f}  {r['priority']:<8} {kind}{r['text']}{scope}{note}")
    return 0


def cmd_threads(args, ctx) -> int:
    from forge_tui.knowledge.view import thread_row

    project = _project(args, ctx)
    rows = [thread_row(t) for t in _registry(ctx).threads(project, include_dismissed=args.all)]
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
    sources = [args.turn] if args.turn else []
    try:
        t = _registry(ctx).resolve_thread(_project(args, ctx), args.id, status=status, resolution=args.note,
                                          sources=sources, who="cli")
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


def cmd_pin(args, ctx) -> int:
    from forge_tui.knowledge.errors import KnowledgeError

    kind = args.pin_kind or ("constraint" if args.constraint else "decision")
    try:
        item = _registry(ctx).pin(_project(args, ctx), kind, args.text, turn=args.turn, who="cli")
    except KnowledgeError as exc:
        return _fail(str(exc))
    print(f"{item.id} pinned as {kind}: {getattr(item, 'text', None) or item.title}")
    return 0


def cmd_dismiss(args, ctx) -> int:
    from forge_tui.knowledge.errors import KnowledgeError

    try:
        item = _registry(ctx).dismiss(_project(args, ctx), args.id, why=args.why, who="cli")
    except KnowledgeError as exc:
        return _fail(str(exc))
    print(f"{item.id} dismissed (kept in the audit log): {getattr(item, 'text', None) or item.title}")
    return 0


def cmd_edit(args, ctx) -> int:
    from forge_tui.knowledge.errors import KnowledgeError

    try:
        item = _registry(ctx).edit(_project(args, ctx), args.id, args.text, who="cli")
    except KnowledgeError as exc:
        return _fail(str(exc))
    print(f"{item.id} now reads: {getattr(item, 'text', None) or item.title}")
    return 0
