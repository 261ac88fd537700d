"""The IR: dtypes, interned nodes, graph cuts, the op registry and the op table."""
