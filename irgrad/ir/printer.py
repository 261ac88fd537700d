"""Readable SSA text for graphs: one line per node, with the user's file:line.

    %3: f32[4,8] = add %1, %2  # train.py:17
"""
from __future__ import annotations


def _fmt_attr(v):
    if isinstance(v, str) and v.endswith(")") and "(" in v:
        return v
    if isinstance(v, float):
        return repr(v)
    if hasattr(v, "name") and hasattr(v, "mlir"):
        return v.name
    return repr(v)


def format_program(program) -> str:
    """A fused kernel's program as one expression: tanh(sub(exp(mul(x0, x1)), x0))."""
    exprs = []
    for op, items, _in_d, _out_d, refs in program:
        args = [f"x{k}" if kind == "x" else exprs[k] for kind, k in refs]
        extra = [f"{k}={_fmt_attr(v)}" for k, v in items]
        exprs.append(f"{op}({', '.join(args + extra)})")
    return exprs[-1] if exprs else ""


def format_type(node) -> str:
    return f"{node.dtype.short}[{','.join(str(s) for s in node.shape)}]"


def format_graph(graph, title: str = "graph") -> str:
    names = {}
    lines = []
    ins = []
    for i, n in enumerate(graph.inputs):
        names[id(n)] = f"%{i}"
        ins.append(f"%{i}: {format_type(n)}")
    lines.append(f"{title}({', '.join(ins)}) {{")
    k = len(graph.inputs)
    input_ids = {id(n) for n in graph.inputs}
    for n in graph.nodes:
        if id(n) in input_ids:
            continue
        names[id(n)] = f"%{k}"
        k += 1
        args = ", ".join(names[id(x)] for x in n.inputs)
        attrs = {a: v for a, v in n.attrs.items()}
        if "program" in attrs:
            attrs = {"expr": format_program(attrs["program"])}
        attr_txt = ""
        if attrs:
            attr_txt = " {" + ", ".join(f"{a}={_fmt_attr(v)}" for a, v in sorted(attrs.items())) + "}"
        site = f"  # {n.site}" if n.site is not None else ""
        sep = " " if args else ""
        lines.append(f"  {names[id(n)]}: {format_type(n)} = {n.op}{sep}{args}{attr_txt}{site}")
    lines.append("  return " + ", ".join(names[id(o)] for o in graph.outputs))
    lines.append("}")
    return "\n".join(lines)
