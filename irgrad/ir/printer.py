"""Readable SSA text for graphs: one line per node, with the user's file:line.

    graph(%0: f32[4,8], %1: f32[8]) {
      %2: f32[4,8] = add %0, %1  # train.py:17
      %3: f32[] = const 0.5  # train.py:18
      %4: f32[4,8] = mul %2, %3  # train.py:18
      return %4
    }

Graph inputs (realized buffers) are numbered first, then every computed node in
topological order. Attributes that repeat the node's type (its `dtype`) or say the default
device are left out; very long attribute values are shortened; a fused elementwise node shows
its program as an expression over its inputs (`{expr=sub(mul(x0, x1), x2)}`).
"""
from __future__ import annotations

MAX_ATTR_CHARS = 60


class _Raw(str):
    """Attribute text printed as is (not repr'd, not shortened)."""


def _fmt_attr(v) -> str:
    if isinstance(v, _Raw):
        return str(v)
    if isinstance(v, float):
        text = repr(v)
    elif hasattr(v, "name") and hasattr(v, "mlir"):  # a DType
        text = v.name
    else:
        text = repr(v)
    if len(text) > MAX_ATTR_CHARS:
        text = text[:MAX_ATTR_CHARS - 3] + "..."
    return text


MAX_EXPR_CHARS = 240


def format_program(program) -> str:
    """A fused node's program as one expression over its inputs x0, x1, ...

    Each instruction's text is built from earlier ones (the program is in topological
    order), so this is a single forward sweep, no recursion.
    """
    texts = []
    for op, items, _in_dtype, _out_dtype, args in program:
        parts = [f"x{k}" if kind == "x" else texts[k] for kind, k in args]
        parts += [f"{k}={_fmt_attr(v)}" for k, v in items]
        texts.append(f"{op}({', '.join(parts)})")
    text = texts[-1] if texts else ""
    if len(text) > MAX_EXPR_CHARS:
        text = text[:MAX_EXPR_CHARS - 3] + "..."
    return text


def format_type(node) -> str:
    return f"{node.dtype.short}[{','.join(str(s) for s in node.shape)}]"


def _shown_attrs(node) -> dict:
    shown = {}
    for name, v in node.attrs.items():
        if name == "dtype" and (v is node.dtype or v == node.dtype.name):
            continue
        if name == "device" and v in (None, "cpu"):
            continue
        shown[name] = v
    return shown


def format_node(node, names) -> str:
    """One SSA line (without the result name) for `node`; `names` maps id(node) -> '%k'."""
    args = ", ".join(names[id(x)] for x in node.inputs)
    attrs = _shown_attrs(node)
    if node.op == "const" and not node.inputs and set(attrs) == {"value"}:
        args, attrs = repr(attrs["value"]), {}
    if isinstance(attrs.get("program"), tuple):
        attrs = {k: v for k, v in attrs.items() if k not in ("program", "shape")}
        attrs["expr"] = _Raw(format_program(node.attrs["program"]))
    attr_txt = ""
    if attrs:
        attr_txt = " {" + ", ".join(f"{a}={_fmt_attr(v)}" for a, v in sorted(attrs.items())) + "}"
    site = f"  # {node.site}" if node.site is not None else ""
    sep = " " if args else ""
    return f"{format_type(node)} = {node.op}{sep}{args}{attr_txt}{site}"


def format_graph(graph, title: str = "graph") -> str:
    names = {}
    ins = []
    for i, n in enumerate(graph.inputs):
        names[id(n)] = f"%{i}"
        ins.append(f"%{i}: {format_type(n)}")
    lines = [f"{title}({', '.join(ins)}) {{"]
    k = len(graph.inputs)
    for n in graph.nodes:
        if id(n) in names:
            continue
        names[id(n)] = f"%{k}"
        k += 1
        lines.append(f"  {names[id(n)]}: {format_node(n, names)}")
    lines.append("  return " + ", ".join(names[id(o)] for o in graph.outputs))
    lines.append("}")
    return "\n".join(lines)
