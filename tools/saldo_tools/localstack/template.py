"""Reading `template.yaml`: CloudFormation short-form tags, parameters and intrinsic functions."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ACCOUNT_ID = "123456789012"


_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: 10x faster


class _CfnLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """SafeLoader that maps `!Ref x` to `{"Ref": x}` and `!Fn y` to `{"Fn::Fn": y}`."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


_cache: dict[tuple[str, int, int], dict[str, Any]] = {}


def load_template(path: str | Path) -> dict[str, Any]:
    """Parse a template (cached per file version; callers get their own copy)."""
    resolved = Path(path).resolve()
    stat = resolved.stat()
    key = (str(resolved), stat.st_mtime_ns, stat.st_size)
    if key not in _cache:
        _cache[key] = yaml.load(resolved.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    return copy.deepcopy(_cache[key])


_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9:._-]+)\}")


def references(value: Any) -> set[str]:
    """Logical ids (or parameters) a value refers to through Ref, Fn::GetAtt and Fn::Sub."""
    found: set[str] = set()
    if isinstance(value, list):
        for v in value:
            found |= references(v)
    elif isinstance(value, dict):
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" and isinstance(arg, str):
                return {arg}
            if key == "Fn::GetAtt":
                logical = arg[0] if isinstance(arg, list) else str(arg).split(".", 1)[0]
                return {logical}
            if key == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                names = {m.split(".", 1)[0] for m in _SUB_NAME.findall(text) if m not in extra}
                return names | references(extra)
        for v in value.values():
            found |= references(v)
    return found


@dataclass
class Resolver:
    """Resolves intrinsic functions against parameters, pseudo parameters and created resources."""

    region: str
    parameters: dict[str, str] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    attrs: dict[tuple[str, str], str] = field(default_factory=dict)

    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Region": self.region,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "saldo-local",
            "AWS::Partition": "aws",
        }

    def ref(self, name: str) -> str:
        if name in self.parameters:
            return self.parameters[name]
        if name in self.pseudo():
            return self.pseudo()[name]
        if name in self.refs:
            return self.refs[name]
        raise KeyError(f"unresolved Ref {name}")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                try:
                    return self.attrs[(logical, attr)]
                except KeyError:
                    raise KeyError(f"unresolved GetAtt {logical}.{attr}") from None
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::Join":
                sep, parts = arg
                return sep.join(str(p) for p in self.resolve(parts))
            if key == "Fn::Select":
                index, items = self.resolve(arg)
                return items[int(index)]
            if key == "Fn::Split":
                sep, text = self.resolve(arg)
                return text.split(sep)
            if key == "Fn::If":
                raise KeyError("the local stack does not evaluate Conditions (Fn::If)")
        return {k: self.resolve(v) for k, v in value.items()}

    def _sub(self, arg: Any) -> str:
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in extra:
                return str(extra[name])
            if "." in name:
                logical, attr = name.split(".", 1)
                return self.attrs[(logical, attr)]
            return self.ref(name)

        return _SUB_NAME.sub(one, text).replace("${!", "${")  # ${!Literal} stays literal


def parameter_defaults(template: dict[str, Any], overrides: dict[str, str] | None = None) -> dict[str, str]:
    params = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}
    params.update(overrides or {})
    return params
