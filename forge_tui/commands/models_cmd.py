"""`forge models`: the configured models with their status, plus models found on this machine;
`forge models add NAME ...`: write a models.toml entry (for a find, the name is enough)."""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from forge_tui.config import ENGINE_KINDS, STRUCTURED_MODES, ConfigError, ModelSpec

STATUS_TIMEOUT_S = 1.5


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("models", help="configured models with their status, and models found locally")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--no-probe", action="store_true", help="do not contact servers (configured or local ports)")
    p.set_defaults(func=cmd_models)
    sub = p.add_subparsers(dest="models_action", metavar="ACTION")
    add = sub.add_parser("add", help="add a models.toml entry (a found model by its listed name, or by keys)")
    add.add_argument("name", help="entry name; a name from the 'found' list adds that find")
    add.add_argument("--kind", choices=ENGINE_KINDS, help="default: openai with --base-url, anthropic with "
                                                           "--api-key-env and no URL, else llama")
    add.add_argument("--path", help="a GGUF file (kind llama)")
    add.add_argument("--base-url", help="an OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1")
    add.add_argument("--model", dest="remote_model", help="the server's model id")
    add.add_argument("--api-key-env", help="the environment variable holding the key (never the key)")
    add.add_argument("--n-ctx", type=int, help="context size (default: ask the server / 4096)")
    add.add_argument("--structured", choices=STRUCTURED_MODES, help="how the server takes structured output")
    add.set_defaults(func=cmd_add)


def spec_status(spec: ModelSpec, probe: bool = True) -> str:
    """One word or phrase: can this model be used right now (without loading it)?"""
    if spec.kind == "llama":
        if spec.path.startswith("package:"):
            return "packaged"
        path = Path(spec.path).expanduser()
        return f"file ok ({path.stat().st_size / 1e9:.1f} GB)" if path.is_file() else f"missing file {path}"
    if spec.kind == "anthropic" or (spec.kind == "openai" and not spec.base_url):
        env = spec.api_key_env or ("ANTHROPIC_API_KEY" if spec.kind == "anthropic" else "OPENAI_API_KEY")
        return "key set" if os.environ.get(env) else f"{env} not set"
    if not probe:
        return "not checked"
    return server_status(spec)


def server_status(spec: ModelSpec) -> str:
    request = urllib.request.Request(spec.base_url.rstrip("/") + "/models")
    key = os.environ.get(spec.api_key_env) if spec.api_key_env else None
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=STATUS_TIMEOUT_S) as response:  # noqa: S310 (configured URL)
            data = json.loads(response.read(1_000_000))
    except urllib.error.HTTPError as exc:
        return f"answers {exc.code}" + (f": check {spec.api_key_env}" if exc.code == 401 else "")
    except (OSError, ValueError):
        return "down"
    ids = [m.get("id") for m in data.get("data", [])] if isinstance(data, dict) else []
    return "up" if spec.remote_model in ids or not ids else f"up, but serves no '{spec.remote_model}'"


def cmd_models(args, ctx) -> int:
    from forge_tui.engine.discovery import discover

    models = ctx.models()
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda s: spec_status(s, not args.no_probe), models.models.values()))
        found_future = pool.submit(discover, servers=not args.no_probe)
        found = found_future.result()
    configured_paths = {str(Path(s.path).expanduser()) for s in models.models.values() if s.kind == "llama"}
    configured_servers = {(s.base_url.rstrip("/"), s.remote_model) for s in models.models.values()}
    found = [f for f in found if f.path not in configured_paths and (f.base_url, f.model) not in configured_servers]
    rows = [{"name": s.name, "kind": s.kind, "where": _where(s), "status": st, "default": s.name == models.default,
             "cloud": s.is_cloud} for s, st in zip(models.models.values(), statuses)]
    finds = [{"name": f.name, "kind": f.kind, "source": f.source, "where": f.path or f"{f.base_url} {f.model}",
              "size": f.size} for f in found]
    if args.json:
        print(json.dumps({"configured": rows, "found": finds}, indent=2))
        return 0
    print(f"Configured ({models.source}):")
    for r in rows:
        mark = "*" if r["default"] else " "
        print(f" {mark} {r['name']:<20} {r['kind']:<9} {r['status']:<24} {r['where']}")
    if finds:
        print("\nFound on this machine (add one with `forge models add NAME`):")
        for f in finds:
            size = f"{f['size'] / 1e9:.1f} GB" if f["size"] else ""
            print(f"   {f['name']:<20} {f['kind']:<9} {f['source']:<14} {size:>8}  {f['where']}")
    else:
        print("\nNothing else found (Ollama, LM Studio, the Hugging Face cache, servers on 11434/8080/1234).")
    return 0


def _where(spec: ModelSpec) -> str:
    if spec.kind == "llama":
        return spec.path
    if spec.kind == "anthropic":
        return f"Claude {spec.remote_model}"
    return f"{spec.base_url or 'OpenAI'} {spec.remote_model}"


def cmd_add(args, ctx) -> int:
    from forge_tui.engine.discovery import discover
    from forge_tui.models_file import add_model

    entry: dict[str, object]
    if not (args.path or args.base_url or args.kind or args.remote_model):
        match = [f for f in discover() if f.name == args.name]
        if not match:
            print(f"forge: nothing found named '{args.name}'. `forge models` lists what was found; or give "
                  "--path FILE.gguf, or --base-url URL --model ID.", file=sys.stderr)
            return 2
        entry = dict(match[0].entry())
    else:
        kind = args.kind or ("openai" if args.base_url else "anthropic" if args.api_key_env and not args.path
                             else "llama")
        entry = {"kind": kind, "path": args.path or "", "base_url": args.base_url or "",
                 "model": args.remote_model or "", "api_key_env": args.api_key_env or "",
                 "structured": args.structured or ""}
        if kind == "llama":
            entry.pop("kind")
            if not args.path or not Path(args.path).expanduser().is_file():
                print(f"forge: no GGUF file at '{args.path or ''}'; give --path to an existing .gguf file.",
                      file=sys.stderr)
                return 2
        if args.n_ctx:
            entry["n_ctx"] = args.n_ctx
    try:
        target, _ = add_model(ctx.paths, args.name, entry)
    except ConfigError as exc:
        print(f"forge: {exc}", file=sys.stderr)
        return 2
    print(f"Added [models.{args.name}] to {target}. Use it with `forge --model {args.name}` or ctrl+m in the app.")
    return 0
