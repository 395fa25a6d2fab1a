"""A small, strict reader for the Groovy subset that this pipeline's Nextflow files use.

Nextflow cannot run on the machines that test this project, so the contract tests read
`nextflow.config`, `conf/*.config` and the modules' `script:`/`stub:` blocks themselves. This
module evaluates the expressions those files contain (literals, GStrings with `${…}`, ternary and
Elvis operators, lists, maps, closures, a few string/list methods) and refuses anything else with
`GroovySubsetError`, so that a construct the tests cannot interpret makes a test fail instead of
being rendered wrongly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any


class GroovySubsetError(ValueError):
    """The text uses Groovy that this reader does not interpret."""


# ---------------------------------------------------------------------------------------------
# Lexer
# ---------------------------------------------------------------------------------------------

OPERATORS = [
    "?:", "?.", "==", "!=", "<=", ">=", "&&", "||", "->", "..",
    "*", "+", "-", "/", "%", "!", "?", ":", ".", ",", "(", ")", "[", "]", "{", "}", "=", "<", ">", ";",
]  # fmt: skip
KEYWORDS = {"true", "false", "null", "new", "in", "instanceof", "def", "if", "else"}


@dataclass(frozen=True)
class Token:
    kind: str  # "str", "gstr", "num", "ident", "op", "nl", "eof"
    text: str
    line: int


_NUMBER = re.compile(r"\d+(\.\d+)?([eE][-+]?\d+)?")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def tokenize(text: str) -> list[Token]:
    """Split Groovy text into tokens; comments vanish, newlines are kept (they end statements)."""
    tokens: list[Token] = []
    i, line = 0, 1
    while i < len(text):
        char = text[i]
        if char == "\n":
            tokens.append(Token("nl", "\n", line))
            line += 1
            i += 1
        elif char in " \t\r":
            i += 1
        elif char == "\\" and text.startswith("\\\n", i):  # explicit line continuation
            line += 1
            i += 2
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = len(text) if end == -1 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i)
            if end == -1:
                raise GroovySubsetError(f"line {line}: unterminated comment")
            line += text.count("\n", i, end)
            i = end + 2
        elif text.startswith('"""', i) or text.startswith("'''", i):
            quote = text[i : i + 3]
            end = _string_end(text, i + 3, quote)
            raw = text[i + 3 : end]
            tokens.append(Token("gstr" if quote == '"""' else "str", raw, line))
            line += raw.count("\n")
            i = end + 3
        elif char in "\"'":
            end = _string_end(text, i + 1, char)
            raw = text[i + 1 : end]
            tokens.append(Token("gstr" if char == '"' else "str", raw, line))
            i = end + 1
        elif char.isdigit():
            match = _NUMBER.match(text, i)
            assert match is not None
            tokens.append(Token("num", match.group(0), line))
            i = match.end()
        elif char.isalpha() or char == "_":
            match = _IDENT.match(text, i)
            assert match is not None
            tokens.append(Token("ident", match.group(0), line))
            i = match.end()
        else:
            for op in OPERATORS:
                if text.startswith(op, i):
                    tokens.append(Token("op", op, line))
                    i += len(op)
                    break
            else:
                raise GroovySubsetError(f"line {line}: unexpected character {char!r}")
    tokens.append(Token("eof", "", line))
    return tokens


def _string_end(text: str, start: int, quote: str) -> int:
    """Index of the closing quote, skipping backslash escapes and `${…}` blocks."""
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if quote[0] == '"' and text.startswith("${", i):
            i = _brace_end(text, i + 1) + 1
            continue
        if text.startswith(quote, i):
            return i
        i += 1
    raise GroovySubsetError(f"unterminated string starting {text[start - len(quote) : start + 30]!r}")


def _brace_end(text: str, open_index: int) -> int:
    """Index of the `}` that closes the `{` at `open_index` (strings inside are skipped)."""
    depth, i = 0, open_index
    while i < len(text):
        char = text[i]
        if char in "\"'":
            i = _string_end(text, i + 1, char) + 1
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise GroovySubsetError("unbalanced braces in a GString")


# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Opaque:
    """A value only a running Nextflow knows (an environment variable, the date, a JVM object)."""

    source: str

    def __str__(self) -> str:
        return f"<{self.source}>"


@dataclass(frozen=True)
class StagedPath:
    """A staged input file: renders as its name in the task folder, like Nextflow's Path."""

    name: str

    def __str__(self) -> str:
        return self.name


class PathList(list[Any]):
    """Several staged files in one input: renders space-separated (Nextflow's BlankSeparatedList)."""

    def __str__(self) -> str:
        return " ".join(str(item) for item in self)


@dataclass(frozen=True)
class Accelerator:
    """What `task.accelerator` holds when the `accelerator` directive is set."""

    request: int
    type: str | None = None


@dataclass
class Closure:
    params: list[str]
    body: list[Any]  # statements
    env: Mapping[str, Any]

    def call(self, *args: Any, extra: Mapping[str, Any] | None = None) -> Any:
        scope = dict(self.env)
        if extra:
            scope.update(extra)
        names = self.params or ["it"]
        for name, value in zip(names, args, strict=False):
            scope[name] = value
        return run_statements(self.body, scope)


# ---------------------------------------------------------------------------------------------
# Parser (tokens -> nested tuples)
# ---------------------------------------------------------------------------------------------


@dataclass
class Parser:
    tokens: list[Token]
    pos: int = 0
    stop_at_newline: list[bool] = field(default_factory=lambda: [True])

    # -- token helpers --
    def peek(self, offset: int = 0) -> Token:
        i = self.pos
        seen = 0
        while True:
            token = self.tokens[i]
            if token.kind == "nl" and not self.stop_at_newline[-1]:
                i += 1
                continue
            if seen == offset:
                return token
            seen += 1
            i += 1

    def next(self) -> Token:
        while self.tokens[self.pos].kind == "nl" and not self.stop_at_newline[-1]:
            self.pos += 1
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def at(self, text: str, kind: str = "op") -> bool:
        token = self.peek()
        return token.kind == kind and token.text == text

    def expect(self, text: str, kind: str = "op") -> Token:
        token = self.next()
        if token.kind != kind or token.text != text:
            raise GroovySubsetError(f"line {token.line}: expected {text!r}, found {token.text!r}")
        return token

    def skip_newlines(self) -> None:
        while self.tokens[self.pos].kind == "nl" or (
            self.tokens[self.pos].kind == "op" and self.tokens[self.pos].text == ";"
        ):
            self.pos += 1

    def bracketed(self) -> _Bracket:
        return _Bracket(self)

    # -- expressions --
    def expression(self) -> Any:
        condition = self.or_expression()
        if self.at("?"):
            self.next()
            with self.bracketed():
                when_true = self.expression()
                self.expect(":")
            return ("ternary", condition, when_true, self.expression())
        if self.at("?:"):
            self.next()
            return ("elvis", condition, self.expression())
        return condition

    def or_expression(self) -> Any:
        left = self.and_expression()
        while self.at("||"):
            self.next()
            left = ("or", left, self.and_expression())
        return left

    def and_expression(self) -> Any:
        left = self.equality()
        while self.at("&&"):
            self.next()
            left = ("and", left, self.equality())
        return left

    def equality(self) -> Any:
        left = self.relation()
        while True:
            token = self.peek()
            if (token.kind == "op" and token.text in ("==", "!=")) or (
                token.kind == "ident" and token.text in ("in", "instanceof")
            ):
                self.next()
                left = ("binop", token.text, left, self.relation())
            else:
                return left

    def relation(self) -> Any:
        left = self.additive()
        while self.peek().kind == "op" and self.peek().text in ("<", ">", "<=", ">=", ".."):
            op = self.next().text
            left = ("binop", op, left, self.additive())
        return left

    def additive(self) -> Any:
        left = self.multiplicative()
        while self.peek().kind == "op" and self.peek().text in ("+", "-"):
            op = self.next().text
            left = ("binop", op, left, self.multiplicative())
        return left

    def multiplicative(self) -> Any:
        left = self.unary()
        while self.peek().kind == "op" and self.peek().text in ("*", "/", "%"):
            op = self.next().text
            left = ("binop", op, left, self.unary())
        return left

    def unary(self) -> Any:
        if self.at("!"):
            self.next()
            return ("not", self.unary())
        if self.at("-"):
            self.next()
            return ("neg", self.unary())
        return self.postfix()

    def postfix(self) -> Any:
        node = self.primary()
        while True:
            token = self.peek()
            if token.kind == "op" and token.text in (".", "?."):
                self.next()
                name = self.next()
                if name.kind != "ident":
                    raise GroovySubsetError(f"line {name.line}: expected a name after '.'")
                if self.at("(") and self.peek().line == name.line:
                    node = ("call", node, name.text, self.arguments(), token.text == "?.")
                elif self.at("{") and self.peek().line == name.line:
                    node = ("call", node, name.text, [self.closure()], token.text == "?.")
                else:
                    node = ("attr", node, name.text, token.text == "?.")
            elif token.kind == "op" and token.text == "[" and token.line == self._last_line():
                self.next()
                with self.bracketed():
                    index = self.expression()
                    self.expect("]")
                node = ("index", node, index)
            elif token.kind == "op" and token.text == "(" and node[0] == "name" and token.line == self._last_line():
                node = ("fcall", node[1], self.arguments())
            else:
                return node

    def _last_line(self) -> int:
        return self.tokens[self.pos - 1].line

    def arguments(self) -> list[Any]:
        self.expect("(")
        args: list[Any] = []
        with self.bracketed():
            while not self.at(")"):
                if self.peek().kind == "ident" and self.peek(1).kind == "op" and self.peek(1).text == ":":
                    key = self.next().text
                    self.next()
                    args.append(("named", key, self.expression()))
                else:
                    args.append(self.expression())
                if not self.at(")"):
                    self.expect(",")
            self.expect(")")
        if self.at("{") and self.peek().line == self._last_line():
            args.append(self.closure())
        return args

    def primary(self) -> Any:
        token = self.next()
        if token.kind == "str":
            return ("str", _unescape(token.text))
        if token.kind == "gstr":
            return ("gstr", token.text)
        if token.kind == "num":
            return ("num", token.text)
        if token.kind == "ident":
            if token.text == "true":
                return ("const", True)
            if token.text == "false":
                return ("const", False)
            if token.text == "null":
                return ("const", None)
            if token.text == "new":
                parts = [self.next().text]
                while self.at("."):
                    self.next()
                    parts.append(self.next().text)
                return ("new", ".".join(parts), self.arguments())
            return ("name", token.text)
        if token.kind == "op" and token.text == "(":
            with self.bracketed():
                inner = self.expression()
                self.expect(")")
            return inner
        if token.kind == "op" and token.text == "[":
            return self.list_or_map()
        if token.kind == "op" and token.text == "{":
            self.pos -= 1
            return self.closure()
        raise GroovySubsetError(f"line {token.line}: unexpected {token.text!r}")

    def list_or_map(self) -> Any:
        items: list[Any] = []
        entries: list[tuple[Any, Any]] = []
        with self.bracketed():
            if self.at(":"):
                self.next()
                self.expect("]")
                return ("map", [])
            while not self.at("]"):
                first = self.peek()
                if first.kind in ("ident", "str", "gstr") and self.peek(1).kind == "op" and self.peek(1).text == ":":
                    self.next()
                    self.next()
                    key = ("str", first.text) if first.kind != "gstr" else ("gstr", first.text)
                    entries.append((key, self.expression()))
                else:
                    items.append(self.expression())
                if not self.at("]"):
                    self.expect(",")
            self.expect("]")
        if entries and items:
            raise GroovySubsetError("a literal mixes list items and map entries")
        return ("map", entries) if entries else ("list", items)

    def closure(self) -> Any:
        self.expect("{")
        self.stop_at_newline.append(True)
        params: list[str] = []
        save = self.pos
        self.skip_newlines()
        names: list[str] = []
        while self.peek().kind == "ident":
            names.append(self.next().text)
            if self.at(","):
                self.next()
            else:
                break
        if self.at("->"):
            self.next()
            params = names
        else:
            self.pos = save
        body = self.statements(until="}")
        self.stop_at_newline.pop()
        self.expect("}")
        return ("closure", params, body)

    # -- statements (script preludes, closure bodies) --
    def statements(self, until: str) -> list[Any]:
        body: list[Any] = []
        while True:
            self.skip_newlines()
            if self.at(until) or self.peek().kind == "eof":
                return body
            body.append(self.statement())

    def statement(self) -> Any:
        token = self.peek()
        if token.kind == "ident" and token.text == "def":
            self.next()
            name = self.next().text
            self.expect("=")
            return ("def", name, self.expression())
        if token.kind == "ident" and token.text == "if":
            raise GroovySubsetError(f"line {token.line}: `if` statements are outside the supported subset")
        return ("expr", self.expression())


class _Bracket:
    """Inside (), [] and ternaries newlines do not end the expression."""

    def __init__(self, parser: Parser) -> None:
        self.parser = parser

    def __enter__(self) -> None:
        self.parser.stop_at_newline.append(False)

    def __exit__(self, *exc: object) -> None:
        self.parser.stop_at_newline.pop()


_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "'": "'", '"': '"', "$": "$", "\n": ""}


def _unescape(raw: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(raw):
        if raw[i] == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            if nxt not in _ESCAPES:
                raise GroovySubsetError(f"unsupported escape \\{nxt}")
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            out.append(raw[i])
            i += 1
    return "".join(out)


def parse_expression(text: str) -> Any:
    parser = Parser(tokenize(text))
    parser.stop_at_newline = [False]
    node = parser.expression()
    if parser.peek().kind != "eof":
        raise GroovySubsetError(f"trailing text after expression: {parser.peek().text!r}")
    return node


def parse_statements(text: str) -> list[Any]:
    parser = Parser(tokenize(text))
    body = parser.statements(until="\0")
    if parser.peek().kind != "eof":
        raise GroovySubsetError(f"unexpected {parser.peek().text!r}")
    return body


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


def truthy(value: Any) -> bool:
    """Groovy truth: null, false, 0, empty strings and collections are false."""
    if isinstance(value, Opaque):
        raise GroovySubsetError(f"the truth of {value} is only known to a running Nextflow")
    return bool(value)


def to_string(value: Any) -> str:
    """How Groovy prints a value inside a GString."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, PathList):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(to_string(item) for item in value) + "]"
    if isinstance(value, dict):
        return "[" + ", ".join(f"{key}:{to_string(item)}" for key, item in value.items()) + "]"
    if isinstance(value, Opaque):
        raise GroovySubsetError(f"cannot render {value}: only a running Nextflow knows it")
    return str(value)


def interpolate(raw: str, env: Mapping[str, Any]) -> str:
    """Evaluate a double-quoted Groovy string: escapes, `${expr}` and `$name.attr`."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        char = raw[i]
        if char == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            if nxt not in _ESCAPES:
                raise GroovySubsetError(f"unsupported escape \\{nxt} in a GString")
            out.append(_ESCAPES[nxt])
            i += 2
        elif raw.startswith("${", i):
            end = _brace_end(raw, i + 1)
            out.append(to_string(evaluate(parse_expression(raw[i + 2 : end]), env)))
            i = end + 1
        elif char == "$" and i + 1 < len(raw) and (raw[i + 1].isalpha() or raw[i + 1] == "_"):
            match = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*").match(raw, i + 1)
            assert match is not None
            out.append(to_string(evaluate(parse_expression(match.group(0)), env)))
            i = match.end()
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _number(text: str) -> int | Decimal:
    return int(text) if text.isdigit() else Decimal(text)


def _attribute(target: Any, name: str) -> Any:
    if isinstance(target, Mapping):
        return target.get(name)
    if isinstance(target, StagedPath) and name in ("name", "fileName"):
        return target.name
    if isinstance(target, StagedPath) and name in ("baseName", "simpleName"):
        return target.name.split(".")[0] if name == "simpleName" else target.name.rsplit(".", 1)[0]
    if isinstance(target, Accelerator) and name in ("request", "type"):
        return getattr(target, name)
    if isinstance(target, Opaque):
        return Opaque(f"{target.source}.{name}")
    raise GroovySubsetError(f"no property {name!r} on {type(target).__name__}")


def _call_method(target: Any, name: str, args: list[Any]) -> Any:
    if isinstance(target, Opaque):
        return Opaque(f"{target.source}.{name}()")
    if isinstance(target, list):
        if name == "join":
            return (args[0] if args else "").join(to_string(item) for item in target)
        if name in ("collect", "findAll", "any", "every") and isinstance(args[0], Closure):
            results = [args[0].call(item) for item in target]
            if name == "collect":
                return results
            if name == "findAll":
                return [item for item, keep in zip(target, results, strict=True) if truthy(keep)]
            return any(truthy(r) for r in results) if name == "any" else all(truthy(r) for r in results)
        if name == "size":
            return len(target)
        if name == "flatten":
            return [
                leaf
                for item in target
                for leaf in (_call_method(item, "flatten", []) if isinstance(item, list) else [item])
            ]
        if name == "contains":
            return args[0] in target
        if name == "isEmpty":
            return not target
    if isinstance(target, str | StagedPath):
        text = str(target)
        methods: dict[str, Callable[..., Any]] = {
            "toString": lambda: text,
            "trim": text.strip,
            "toLowerCase": text.lower,
            "toUpperCase": text.upper,
            "tokenize": lambda sep=" ": [part for part in re.split("[" + re.escape(sep) + "]", text) if part],
            "split": lambda sep: text.split(sep),
            "contains": lambda part: part in text,
            "startsWith": lambda part: text.startswith(part),
            "endsWith": lambda part: text.endswith(part),
            "replace": lambda old, new: text.replace(old, new),
            "isEmpty": lambda: not text,
            "size": lambda: len(text),
        }
        if name in methods:
            return methods[name](*args)
    if isinstance(target, int | Decimal) and name == "toString":
        return str(target)
    if isinstance(target, Mapping) and name in ("get", "containsKey"):
        return target.get(args[0]) if name == "get" else args[0] in target
    raise GroovySubsetError(f"method {name}() on {type(target).__name__} is outside the supported subset")


def _binop(op: str, left: Any, right: Any) -> Any:
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op == "in":
        return left in right
    if op == "instanceof":
        kinds = {"List": list, "String": str, "Map": dict, "Integer": int}
        return isinstance(left, kinds[right.source if isinstance(right, Opaque) else right])
    if isinstance(left, Opaque) or isinstance(right, Opaque):
        return Opaque(f"({left} {op} {right})")
    if op == "+":
        if isinstance(left, str | StagedPath):
            return str(left) + to_string(right)
        if isinstance(left, list):
            return left + (right if isinstance(right, list) else [right])
        return left + right
    if op == "..":
        return list(range(left, right + 1))
    operations: dict[str, Callable[[Any, Any], Any]] = {
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "/": lambda a, b: Decimal(a) / Decimal(b),
        "%": lambda a, b: a % b,
        "<": lambda a, b: a < b,
        ">": lambda a, b: a > b,
        "<=": lambda a, b: a <= b,
        ">=": lambda a, b: a >= b,
    }
    return operations[op](left, right)


MEMORY_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
DURATION_UNITS: dict[str, int | Decimal] = {"ms": Decimal("0.001"), "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def evaluate(node: Any, env: Mapping[str, Any]) -> Any:
    """Evaluate a parsed expression in `env` (names -> values)."""
    kind = node[0]
    if kind == "str":
        return node[1]
    if kind == "gstr":
        return interpolate(node[1], env)
    if kind == "num":
        return _number(node[1])
    if kind == "const":
        return node[1]
    if kind == "name":
        name = node[1]
        if name in env:
            return env[name]
        if name[0].isupper():  # a class name (List, System, …)
            return Opaque(name)
        raise GroovySubsetError(f"unknown name {name!r}")
    if kind == "attr":
        target = evaluate(node[1], env)
        if target is None and node[3]:
            return None
        if isinstance(target, int | Decimal) and node[2] in MEMORY_UNITS:
            return target * MEMORY_UNITS[node[2]]
        if isinstance(target, int | Decimal) and node[2] in DURATION_UNITS:
            return target * DURATION_UNITS[node[2]]
        return _attribute(target, node[2])
    if kind == "call":
        target = evaluate(node[1], env)
        if target is None and node[4]:
            return None
        return _call_method(target, node[2], [evaluate(arg, env) for arg in node[3]])
    if kind == "fcall":
        return _call_function(node[1], [evaluate(arg, env) for arg in node[2]], env)
    if kind == "index":
        return evaluate(node[1], env)[evaluate(node[2], env)]
    if kind == "ternary":
        return evaluate(node[2] if truthy(evaluate(node[1], env)) else node[3], env)
    if kind == "elvis":
        value = evaluate(node[1], env)
        return value if truthy(value) else evaluate(node[2], env)
    if kind == "or":
        return truthy(evaluate(node[1], env)) or truthy(evaluate(node[2], env))
    if kind == "and":
        return truthy(evaluate(node[1], env)) and truthy(evaluate(node[2], env))
    if kind == "not":
        return not truthy(evaluate(node[1], env))
    if kind == "neg":
        return -evaluate(node[1], env)
    if kind == "binop":
        return _binop(node[1], evaluate(node[2], env), evaluate(node[3], env))
    if kind == "list":
        return [evaluate(item, env) for item in node[1]]
    if kind == "map":
        return {to_string(evaluate(key, env)): evaluate(value, env) for key, value in node[1]}
    if kind == "closure":
        return Closure(node[1], node[2], env)
    if kind == "new":
        return Opaque(f"new {node[1]}")
    if kind == "named":
        return (node[1], evaluate(node[2], env))
    raise GroovySubsetError(f"cannot evaluate {kind}")


def _call_function(name: str, args: list[Any], env: Mapping[str, Any]) -> Any:
    if name in env and isinstance(env[name], Closure):
        return env[name].call(*args)
    if name == "error":
        raise GroovySubsetError(f"the Groovy code raised error({args[0]!r})")
    raise GroovySubsetError(f"function {name}() is outside the supported subset")


def run_statements(body: list[Any], env: dict[str, Any]) -> Any:
    """Run `def` and expression statements; return the last expression's value (Groovy closures)."""
    result: Any = None
    for statement in body:
        if statement[0] == "def":
            env[statement[1]] = evaluate(statement[2], env)
            result = None
        else:
            result = evaluate(statement[1], env)
    return result


def resolve(value: Any, env: Mapping[str, Any]) -> Any:
    """A config value: closures (`{ … }`) are called in the task's context, others kept as they are."""
    return value.call(extra=env) if isinstance(value, Closure) else value


# ---------------------------------------------------------------------------------------------
# Nextflow configuration files
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessSetting:
    """One `process` directive set in a config file, with the selector it sits under (if any)."""

    selector: str | None  # None, "withName" or "withLabel"
    pattern: str | None
    key: str  # e.g. "cpus", "ext.args"
    value: Any  # evaluated; closures stay Closure objects


@dataclass(frozen=True)
class Lazy:
    """A setting outside `params`/`process`, evaluated on demand (it may need a running Nextflow)."""

    node: Any
    env: Mapping[str, Any]

    def value(self, **extra: Any) -> Any:
        return evaluate(self.node, {**self.env, **extra})


@dataclass
class NextflowConfig:
    """What the contract tests need from the configuration, with the chosen profiles applied."""

    params: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Lazy] = field(default_factory=dict)  # dotted scope paths (e.g. manifest.name)
    process: list[ProcessSetting] = field(default_factory=list)
    profiles: dict[str, list[Any]] = field(default_factory=dict)
    plugins: list[str] = field(default_factory=list)
    includes: list[Path] = field(default_factory=list)
    param_sources: dict[str, list[Path]] = field(default_factory=dict)
    active_profiles: list[str] = field(default_factory=list)


def _statement_tokens(parser: Parser) -> Iterator[tuple[str, Any]]:
    """Config statements: ('assign', (path, node)), ('block', (path, body)), ('selector', …), ('call', …)."""
    while True:
        parser.skip_newlines()
        token = parser.peek()
        if token.kind == "eof" or (token.kind == "op" and token.text == "}"):
            return
        if token.kind == "ident" and token.text in ("withName", "withLabel") and parser.peek(1).text == ":":
            parser.next()
            parser.next()
            pattern_token = parser.next()
            if pattern_token.kind not in ("str", "gstr", "ident"):
                raise GroovySubsetError(f"line {pattern_token.line}: selector pattern expected")
            parser.expect("{")
            body = list(_statement_tokens(parser))
            parser.expect("}")
            yield "selector", (token.text, pattern_token.text, body)
            continue
        if token.kind != "ident":
            raise GroovySubsetError(f"line {token.line}: unexpected {token.text!r} in a config file")
        path = [parser.next().text]
        while parser.at("."):
            parser.next()
            path.append(parser.next().text)
        if parser.at("="):
            parser.next()
            yield "assign", (path, parser.expression())
        elif parser.at("{"):
            parser.next()
            body = list(_statement_tokens(parser))
            parser.expect("}")
            yield "block", (path, body)
        else:
            yield "call", (path, parser.expression())


def read_config(main: Path, profiles: list[str] | None = None, project_dir: Path | None = None) -> NextflowConfig:
    """Read `main` (nextflow.config) the way Nextflow would with `-profile <profiles>` active."""
    config = NextflowConfig()
    root = project_dir or main.parent
    env: dict[str, Any] = {"params": config.params, "projectDir": str(root), "launchDir": ".", "baseDir": str(root)}
    env["System"] = Opaque("System")
    active = profiles or []
    config.active_profiles = list(active)

    def apply(
        statements: list[tuple[str, Any]], scope: list[str], source: Path, selector: tuple[str, str] | None
    ) -> None:
        for kind, payload in statements:
            if kind == "selector":
                name, pattern, body = payload
                if scope != ["process"]:
                    raise GroovySubsetError(f"{source}: {name} outside the process scope")
                apply(body, scope, source, (name, pattern))
            elif kind == "block":
                path, body = payload
                full = scope + path
                if full == ["profiles"]:
                    for profile_kind, (profile_path, profile_body) in body:
                        if profile_kind != "block":
                            raise GroovySubsetError(f"{source}: profiles holds only blocks")
                        config.profiles[profile_path[0]] = profile_body
                    for profile in active:
                        if profile in config.profiles:
                            apply(config.profiles[profile], [], source, None)
                else:
                    apply(body, full, source, selector)
            elif kind == "assign":
                path, node = payload
                full = scope + path
                if full[0] not in ("params", "process"):
                    config.settings[".".join(full)] = Lazy(node, env)
                    continue
                value = evaluate(node, env)
                if full[0] == "params":
                    if len(full) != 2:
                        raise GroovySubsetError(f"{source}: nested params are not supported")
                    config.params[full[1]] = value
                    config.param_sources.setdefault(full[1], []).append(source)
                elif full[0] == "process":
                    config.process.append(
                        ProcessSetting(selector[0] if selector else None, selector[1] if selector else None,
                                       ".".join(full[1:]), value)
                    )  # fmt: skip
            elif kind == "call":
                path, node = payload
                if path == ["includeConfig"] and node[0] == "ternary":
                    # nf-core's institutional profiles: fetched from nf-core/configs by a running,
                    # online Nextflow (-profile <institution>); nothing the contract tests read
                    continue
                value = evaluate(node, env)
                if path == ["includeConfig"]:
                    included = (source.parent / value).resolve()
                    config.includes.append(included)
                    apply(_parse_config(included), scope, included, selector)
                elif scope == ["plugins"] and path == ["id"]:
                    config.plugins.append(value)
                else:
                    raise GroovySubsetError(f"{source}: unsupported statement {'.'.join(path)}")

    apply(_parse_config(main), [], main, None)
    missing = [profile for profile in active if profile not in config.profiles]
    if missing:
        raise GroovySubsetError(f"{main}: no profile named {', '.join(missing)}")
    return config


def _parse_config(path: Path) -> list[tuple[str, Any]]:
    parser = Parser(tokenize(path.read_text()))
    statements = list(_statement_tokens(parser))
    if parser.peek().kind != "eof":
        raise GroovySubsetError(f"{path}: unbalanced braces near line {parser.peek().line}")
    return statements


def selector_matches(pattern: str, name: str) -> bool:
    """Nextflow selectors are regular expressions matched against the whole name; `|` and `!` allowed."""
    if pattern.startswith("!"):
        return not selector_matches(pattern[1:], name)
    return re.fullmatch(pattern, name) is not None


def process_directives(config: NextflowConfig, name: str, labels: list[str]) -> dict[str, Any]:
    """The directives a process gets: generic < withLabel < withName; later settings win within a kind."""
    simple = name.split(":")[-1]
    ranked: dict[str, tuple[int, Any]] = {}
    for setting in config.process:
        pattern = setting.pattern or ""
        if setting.selector is None:
            rank = 0
        elif setting.selector == "withLabel" and any(selector_matches(pattern, label) for label in labels):
            rank = 1
        elif setting.selector == "withName" and (selector_matches(pattern, simple) or selector_matches(pattern, name)):
            rank = 2
        else:
            continue
        if setting.key not in ranked or rank >= ranked[setting.key][0]:
            ranked[setting.key] = (rank, setting.value)
    return {key: value for key, (_, value) in ranked.items()}
