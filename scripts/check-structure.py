#!/usr/bin/env python3
"""The house rules the compiler does not check, checked on every CI run.

- No import circles between the files of a crate: when file A uses something of file B, B
  does not use anything of A, directly or through other files. A module's `mod.rs` (or
  `lib.rs`) is its table of contents: uses between it and the files under it do not count.
- No SQL outside `studio-core`: the `app` crate reaches the database only through core.
- No comparison inside a `view!` attribute value (`disabled=a >= b`): formatting can split it
  into a tag's end and text (a button once printed its own source). Name it first
  (`let at_last = a >= b;` ... `disabled=at_last`).

Prints each broken rule and exits 1, or prints a one-line summary.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATES = ["core", "app", "server", "workers", "frontend"]
NO_SQL = ["app", "server", "frontend"]
VIEWS = ["app", "frontend"]
ATTRIBUTE = re.compile(r"^\s*[A-Za-z_][\w:-]*=(?![=>])(.+)$")
COMPARISON = re.compile(r"==|!=|>=|<=|\s<\s|\s>\s")
SQL = re.compile(r"\bsqlx::(query|query_as|query_scalar)\b|\bquery(_as|_scalar)?!\s*\(")


def module_files(src: Path) -> dict[tuple[str, ...], Path]:
    """Module path (from the crate root) -> the file that holds it."""
    modules = {}
    for file in src.rglob("*.rs"):
        parts = list(file.relative_to(src).with_suffix("").parts)
        if parts[-1] in ("mod", "lib", "main"):
            parts.pop()
        modules[tuple(parts)] = file
    return modules


def strip_comments(text: str) -> str:
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


def expand(tree: str) -> list[str]:
    """`a::{b, c::{d as f, e}}` -> [`a::b`, `a::c::d`, `a::c::e`] (aliases dropped)."""
    tree = re.sub(r"\s+", "", re.sub(r"\s+as\s+\w+", "", tree))
    start = tree.find("{")
    if start < 0:
        return [tree]
    depth, parts, last = 0, [], start + 1
    for i in range(start, len(tree)):
        if tree[i] == "{":
            depth += 1
        elif tree[i] == "}":
            depth -= 1
            if depth == 0:
                parts.append(tree[last:i])
                break
        elif tree[i] == "," and depth == 1:
            parts.append(tree[last:i])
            last = i + 1
    prefix = tree[:start]
    return [path for part in parts if part for path in expand(prefix + part)]


def resolve(path: str, here: tuple[str, ...], modules) -> tuple[str, ...] | None:
    """The module (a key of `modules`) a `crate::`/`super::`/`self::` path lands in."""
    segments = [s for s in path.split("::") if s]
    if not segments or segments[0] not in ("crate", "super", "self"):
        return None
    base = list(here)
    if segments[0] == "crate":
        base, segments = [], segments[1:]
    else:
        while segments and segments[0] in ("super", "self"):
            if segments.pop(0) == "super":
                base = base[:-1]
    found = tuple(base)
    current = list(base)
    for segment in segments:
        current.append(segment)
        if tuple(current) in modules:
            found = tuple(current)
        else:
            break
    return found


def edges_of(file: Path, here: tuple[str, ...], modules) -> set[tuple[str, ...]]:
    text = strip_comments(file.read_text())
    paths = []
    for statement in re.findall(r"\buse\s+([^;]+);", text):
        paths.extend(expand(statement))
    paths.extend(re.findall(r"\b(?:crate|super|self)(?:::\w+)+", text))
    targets = set()
    for path in paths:
        target = resolve(path, here, modules)
        if target is None or target == here:
            continue
        # A table of contents and what it lists.
        if target == here[: len(target)] or here == target[: len(here)]:
            continue
        targets.add(target)
    return targets


def cycles(graph: dict) -> list[list]:
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for succ in graph.get(node, ()):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10000)
    for node in graph:
        if node not in index:
            visit(node)
    return found


def view_blocks(text: str):
    """(first line number, text) of each `view! { ... }` in `text`."""
    for found in re.finditer(r"view!\s*\{", text):
        depth, at = 0, found.end() - 1
        for at in range(found.end() - 1, len(text)):
            if text[at] == "{":
                depth += 1
            elif text[at] == "}":
                depth -= 1
                if depth == 0:
                    break
        yield text.count("\n", 0, found.start()) + 1, text[found.start() : at + 1]


def compared_attributes(file: Path) -> list[int]:
    """Line numbers of `view!` attributes whose value compares."""
    lines = []
    for first, block in view_blocks(strip_comments(file.read_text())):
        for offset, line in enumerate(block.splitlines()):
            match = ATTRIBUTE.match(line)
            if match and not match.group(1).lstrip().startswith('"'):
                if COMPARISON.search(match.group(1)):
                    lines.append(first + offset)
    return sorted(set(lines))


def main() -> int:
    problems = []
    files = 0
    for crate in CRATES:
        src = ROOT / crate / "src"
        modules = module_files(src)
        graph = {}
        for module, file in modules.items():
            files += 1
            graph[module] = edges_of(file, module, modules)
        for component in cycles(graph):
            names = ", ".join(str(modules[m].relative_to(ROOT)) for m in component)
            uses = [
                f"    {modules[a].relative_to(ROOT)} uses {modules[b].relative_to(ROOT)}"
                for a in component
                for b in sorted(graph[a])
                if b in component
            ]
            problems.append(f"import circle in {crate}: {names}\n" + "\n".join(uses))
        if crate in NO_SQL:
            for file in modules.values():
                for number, line in enumerate(strip_comments(file.read_text()).splitlines(), 1):
                    if SQL.search(line):
                        problems.append(
                            f"SQL outside studio-core: {file.relative_to(ROOT)}:{number}"
                        )
        if crate in VIEWS:
            for file in modules.values():
                for number in compared_attributes(file):
                    problems.append(
                        f"comparison in a view! attribute (name it first): "
                        f"{file.relative_to(ROOT)}:{number}"
                    )
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"structure: {files} files in {len(CRATES)} crates, no import circles, no SQL outside core, "
          "no comparison in a view! attribute")
    return 0


if __name__ == "__main__":
    sys.exit(main())
