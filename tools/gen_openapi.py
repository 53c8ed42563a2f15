"""Write the gateway's own /openapi.json to web/openapi.json and the dashboard's TypeScript API types from it
(web/src/lib/api-schema.d.ts, with openapi-typescript); `--check` fails when either is stale."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
SPEC = WEB / "openapi.json"
TYPES = WEB / "src" / "lib" / "api-schema.d.ts"
GENERATOR = WEB / "node_modules" / ".bin" / "openapi-typescript"


def served_spec() -> str:
    """The spec exactly as the gateway serves it, as stable JSON text."""
    from starlette.testclient import TestClient

    from gateway.app import create_app
    from services.common.settings import load_settings

    with TestClient(create_app(load_settings("gateway", {}))) as client:
        spec = client.get("/openapi.json").json()
    return json.dumps(spec, indent=1, sort_keys=False, ensure_ascii=False) + "\n"


def typescript(spec_text: str) -> str:
    if not GENERATOR.exists():
        raise SystemExit(f"{GENERATOR} is missing: run `npm ci` in web/ (make web does)")
    with tempfile.TemporaryDirectory() as tmp:
        spec, out = Path(tmp, "openapi.json"), Path(tmp, "api-schema.d.ts")
        spec.write_text(spec_text)
        subprocess.run([str(GENERATOR), str(spec), "-o", str(out)], check=True, capture_output=True, cwd=WEB)
        return out.read_text()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when the committed files differ from fresh ones")
    args = parser.parse_args()
    spec = served_spec()
    types = typescript(spec)
    if args.check:
        stale = [str(p.relative_to(ROOT)) for p, text in ((SPEC, spec), (TYPES, types)) if not p.exists() or p.read_text() != text]
        if stale:
            print("stale: " + ", ".join(stale) + " (run `make api-types`)", file=sys.stderr)
            return 1
        return 0
    SPEC.write_text(spec)
    TYPES.parent.mkdir(parents=True, exist_ok=True)
    TYPES.write_text(types)
    print(f"wrote {SPEC.relative_to(ROOT)} and {TYPES.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
