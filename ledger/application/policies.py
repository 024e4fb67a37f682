"""Scheme presets: JSON files shipped with the package, one per city scheme."""

import json
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from domain.errors import InvalidPolicy
from domain.policy import Policy, SchemePreset, describe_validation_error, parse_policy


def preset_names() -> list[str]:
    files = resources.files("ledger.application.presets").iterdir()
    return sorted(f.name.removesuffix(".json") for f in files if f.name.endswith(".json"))


def load_preset(name: str) -> SchemePreset:
    if name not in preset_names():
        raise InvalidPolicy(f"unknown preset {name!r} (known: {', '.join(preset_names())})")
    text = resources.files("ledger.application.presets").joinpath(f"{name}.json").read_text("utf-8")
    try:
        return SchemePreset.model_validate(json.loads(text))
    except ValidationError as e:
        raise InvalidPolicy(describe_validation_error(e, f"preset {name}")) from None


def load_policy_file(path: Path) -> Policy:
    """A single policy version from a JSON file, for schemes without a preset."""
    try:
        data: Any = json.loads(path.read_text("utf-8"))
    except OSError as e:
        raise InvalidPolicy(f"{path}: cannot read: {e.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidPolicy(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise InvalidPolicy(f"{path}: line {e.lineno}: not valid JSON: {e.msg}") from None
    if not isinstance(data, dict):
        raise InvalidPolicy(f"{path}: a policy file holds one JSON object")
    return parse_policy(data, str(path))
