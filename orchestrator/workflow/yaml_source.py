"""YAML workflow files: PyYAML composes the node tree (with marks) and constructs the data from it."""

from __future__ import annotations

import yaml

from orchestrator.workflow.errors import DocPath
from orchestrator.workflow.source import Document, Mark, SyntaxProblem

_YAML_HINT = (
    "check the indentation (spaces, not tabs) and quote values that hold ': ', ' #', start with '{', '[', "
    "'*', '&' or '!', such as entityRef: \"{entity.entityRef}-F1\""
)


def parse_yaml(text: str) -> Document:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        raise SyntaxProblem(_describe(exc), _mark(exc.problem_mark)) from None
    except yaml.YAMLError as exc:
        raise SyntaxProblem(f"invalid YAML: {exc}", None) from None
    finally:
        loader.dispose()
    document = Document(data, {(): Mark(1, 1)})
    if root is not None:
        _record(root, (), document, set())
    return document


def _describe(exc: yaml.MarkedYAMLError) -> str:
    problem = exc.problem or "syntax error"
    if exc.context:
        where = f" (line {exc.context_mark.line + 1})" if exc.context_mark is not None else ""
        problem = f"{problem}, {exc.context}{where}"
    if "expected a single document" in problem:
        return "a workflow file holds one workflow: remove the second document (after '---')"
    return f"invalid YAML: {problem}; {_YAML_HINT}"


def _mark(mark: yaml.Mark | None) -> Mark | None:
    return Mark(mark.line + 1, mark.column + 1) if mark is not None else None


def _record(node: yaml.Node, path: DocPath, document: Document, open_nodes: set[int]) -> None:
    """Record the mark of ``node`` and its children; ``open_nodes`` stops recursive aliases."""
    start = _mark(node.start_mark)
    if start is not None:
        document.marks[path] = start
    if id(node) in open_nodes:
        return
    open_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        _record_mapping(node, path, document, open_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record(item, (*path, index), document, open_nodes)
    open_nodes.discard(id(node))


def _record_mapping(node: yaml.MappingNode, path: DocPath, document: Document, open_nodes: set[int]) -> None:
    seen: set[str] = set()
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            continue
        key = str(key_node.value)
        if _written_inside(key_node, node):  # keys merged in with '<<' may be overridden: not duplicates
            if key in seen:
                document.duplicate_keys.append((*path, key))
            seen.add(key)
        key_mark = _mark(key_node.start_mark)
        if key_mark is not None:
            document.key_marks[(*path, key)] = key_mark
        _record(value_node, (*path, key), document, open_nodes)


def _written_inside(key: yaml.Node, mapping: yaml.Node) -> bool:
    return bool(mapping.start_mark.index <= key.start_mark.index <= mapping.end_mark.index)
