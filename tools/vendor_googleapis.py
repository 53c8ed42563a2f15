"""Copy google/api/*.proto from googleapis-common-protos into third_party/ so buf resolves imports offline."""

import shutil
from pathlib import Path

import google.api

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    src = Path(google.api.__path__[0])
    dst = ROOT / "third_party" / "googleapis" / "google" / "api"
    dst.mkdir(parents=True, exist_ok=True)
    for proto in src.glob("*.proto"):
        shutil.copy2(proto, dst / proto.name)


if __name__ == "__main__":
    main()
