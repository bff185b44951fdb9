"""Reading the project's YAML files with errors that name the file."""

from __future__ import annotations

from pathlib import Path

import yaml

from components.errors import ConfigError


def read_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(path.name, "<file>", f"not found at {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(path.name, "<document>", f"malformed YAML: {exc}".replace("\n", " ")) from None
