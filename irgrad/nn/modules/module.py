"""`Module`, the base of every layer, with PyTorch's registration and traversal surface.

Attribute assignment registers Parameters, buffers and child Modules in insertion order, so
`state_dict()` has PyTorch's keys in PyTorch's order and a PyTorch checkpoint loads as is.
Conversions (`to`, `float`, ...) and `load_state_dict` rebind the existing Parameter objects
to new values (never replace them), so an optimizer holding them keeps working.
"""
from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Mapping

from ...errors import fail
from ...ir import dtypes as dt
from ...frontend.tensor import Tensor
from ...frontend.modes import no_grad
from .parameter import Parameter

from .helpers import RemovableHandle, _IncompatibleKeys, _addindent, typename

__all__ = ["Module", "RemovableHandle", "typename"]


class Module:
    """Base class for all neural network modules (PyTorch's `nn.Module` surface)."""

    training: bool
    _version = 1
    call_super_init = False

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            fail(TypeError, f"{type(self).__name__}.__init__() got unexpected arguments")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = {}
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_pre_hooks_with_kwargs"] = set()
        d["_forward_hooks"] = OrderedDict()
        d["_forward_hooks_with_kwargs"] = set()
        d["_forward_hooks_always_called"] = set()
        d["_state_dict_hooks"] = OrderedDict()
        d["_load_state_dict_post_hooks"] = OrderedDict()

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  f'"forward" function')

    # ---- calling ----------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        for hid, hook in list(self._forward_pre_hooks.items()):
            if hid in self._forward_pre_hooks_with_kwargs:
                r = hook(self, args, kwargs)
                if r is not None:
                    if not (isinstance(r, tuple) and len(r) == 2):
                        raise RuntimeError("forward pre-hook must return None or a tuple of "
                                           f"(new_args, new_kwargs), but got {r}.")
                    args, kwargs = r
            else:
                r = hook(self, args)
                if r is not None:
                    args = r if isinstance(r, tuple) else (r,)
        try:
            result = self.forward(*args, **kwargs)
        except BaseException:
            for hid, hook in list(self._forward_hooks.items()):
                if hid in self._forward_hooks_always_called:
                    try:
                        self._run_forward_hook(hid, hook, args, kwargs, None)
                    except Exception:  # the forward error is the one to report
                        pass
            raise
        for hid, hook in list(self._forward_hooks.items()):
            r = self._run_forward_hook(hid, hook, args, kwargs, result)
            if r is not None:
                result = r
        return result

    def _run_forward_hook(self, hid, hook, args, kwargs, result):
        if hid in self._forward_hooks_with_kwargs:
            return hook(self, args, kwargs, result)
        return hook(self, args, result)

    _call_impl = __call__

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        handle = RemovableHandle(self._forward_pre_hooks, self._forward_pre_hooks_with_kwargs)
        self._forward_pre_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs.add(handle.id)
        if prepend:
            self._forward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False,
                              always_call=False):
        handle = RemovableHandle(self._forward_hooks, self._forward_hooks_with_kwargs,
                                 self._forward_hooks_always_called)
        self._forward_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_hooks_with_kwargs.add(handle.id)
        if always_call:
            self._forward_hooks_always_called.add(handle.id)
        if prepend:
            self._forward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_load_state_dict_post_hook(self, hook):
        handle = RemovableHandle(self._load_state_dict_post_hooks)
        self._load_state_dict_post_hooks[handle.id] = hook
        return handle

    def _register_state_dict_hook(self, hook):
        handle = RemovableHandle(self._state_dict_hooks)
        self._state_dict_hooks[handle.id] = hook
        return handle

    # ---- registration -----------------------------------------------------------------------
    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        if not isinstance(name, str):
            fail(TypeError, f"buffer name should be a string. Got {typename(name)}")
        if "." in name:
            fail(KeyError, 'buffer name can\'t contain "."')
        if name == "":
            fail(KeyError, 'buffer name can\'t be empty string ""')
        if hasattr(self, name) and name not in self._buffers:
            fail(KeyError, f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            fail(TypeError, f"cannot assign '{typename(tensor)}' object to buffer '{name}' "
                            f"(torch Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def register_parameter(self, name: str, param) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        if not isinstance(name, str):
            fail(TypeError, f"parameter name should be a string. Got {typename(name)}")
        if "." in name:
            fail(KeyError, 'parameter name can\'t contain "."')
        if name == "":
            fail(KeyError, 'parameter name can\'t be empty string ""')
        if hasattr(self, name) and name not in self._parameters:
            fail(KeyError, f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            fail(TypeError, f"cannot assign '{typename(param)}' object to parameter '{name}' "
                            f"(torch.nn.Parameter or None required)")
        self._parameters[name] = param

    def add_module(self, name: str, module) -> None:
        if module is not None and not isinstance(module, Module):
            fail(TypeError, f"{typename(module)} is not a Module subclass")
        if not isinstance(name, str):
            fail(TypeError, f"module name should be a string. Got {typename(name)}")
        if hasattr(self, name) and name not in self._modules:
            fail(KeyError, f"attribute '{name}' already exists")
        if "." in name:
            fail(KeyError, f'module name can\'t contain ".", got: {name}')
        if name == "":
            fail(KeyError, 'module name can\'t be empty string ""')
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")

        def remove_from(*dicts):
            for dd in dicts:
                if name in dd:
                    if isinstance(dd, dict):
                        del dd[name]
                    else:
                        dd.discard(name)

        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            remove_from(d, self._buffers, self._modules, self._non_persistent_buffers_set)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                fail(TypeError, f"cannot assign '{typename(value)}' as parameter '{name}' "
                                f"(torch.nn.Parameter or None expected)")
            self.register_parameter(name, value)
        else:
            modules = d.get("_modules")
            if isinstance(value, Module):
                if modules is None:
                    raise AttributeError("cannot assign module before Module.__init__() call")
                remove_from(d, self._parameters, self._buffers,
                            self._non_persistent_buffers_set)
                modules[name] = value
            elif modules is not None and name in modules:
                if value is not None:
                    fail(TypeError, f"cannot assign '{typename(value)}' as child module "
                                    f"'{name}' (torch.nn.Module or None expected)")
                modules[name] = value
            else:
                buffers = d.get("_buffers")
                if buffers is not None and name in buffers:
                    if value is not None and not isinstance(value, Tensor):
                        fail(TypeError, f"cannot assign '{typename(value)}' as buffer "
                                        f"'{name}' (torch.Tensor or None expected)")
                    buffers[name] = value
                else:
                    object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            t = d.get(table)
            if t is not None and name in t:
                return t[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for table in ("_parameters", "_buffers", "_modules"):
            t = self.__dict__.get(table)
            if t is not None and name in t:
                del t[name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        keys = set(dir(type(self))) | set(self.__dict__)
        keys |= set(self._parameters) | set(self._modules) | set(self._buffers)
        return sorted(k for k in keys if not k[:1].isdigit())

    def __setstate__(self, state):
        self.__dict__.update(state)

    # ---- lookup -------------------------------------------------------------------------------
    def get_submodule(self, target: str = "") -> "Module":
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(f"{mod._get_name()} has no attribute `{item}`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return mod

    def get_parameter(self, target: str) -> Parameter:
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        param = getattr(mod, name)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return param

    def get_buffer(self, target: str) -> Tensor:
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        if name not in mod._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return getattr(mod, name)

    # ---- traversal --------------------------------------------------------------------------
    def _named_members(self, get_members, prefix="", recurse=True, remove_duplicate=True):
        memo = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for k, v in get_members(module):
                if v is None or (remove_duplicate and id(v) in memo):
                    continue
                if remove_duplicate:
                    memo.add(id(v))
                yield module_prefix + ("." if module_prefix else "") + k, v

    def parameters(self, recurse: bool = True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True):
        return self._named_members(lambda m: m._parameters.items(), prefix, recurse,
                                   remove_duplicate)

    def buffers(self, recurse: bool = True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True):
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse,
                                   remove_duplicate)

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_children(self):
        memo = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in memo:
                memo.add(id(m))
                yield name, m

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        # An explicit stack (depth first, children in order) instead of recursion.
        if memo is None:
            memo = set()
        stack = [(prefix, self)]
        while stack:
            pre, mod = stack.pop()
            if remove_duplicate:
                if id(mod) in memo:
                    continue
                memo.add(id(mod))
            yield pre, mod
            kids = [(pre + ("." if pre else "") + name, m)
                    for name, m in mod._modules.items() if m is not None]
            stack.extend(reversed(kids))

    # ---- modes ------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                from ...frontend.creation import zeros_like
                p.grad = zeros_like(p.grad.detach())

    def apply(self, fn) -> "Module":
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ---- conversions ------------------------------------------------------------------------
    def _apply(self, fn, recurse: bool = True) -> "Module":
        """Map every parameter, gradient and buffer through `fn` (Tensor -> Tensor), keeping
        the Parameter objects (so optimizers that hold them stay valid)."""
        mods = self.modules() if recurse else [self]
        for m in mods:
            with no_grad():
                for p in m._parameters.values():
                    if p is None:
                        continue
                    new = fn(p)
                    if new is not p and new._n is not p._n:  # in-place fns return p itself
                        p._set_value(new.node)
                    if p.grad is not None:
                        p.grad = fn(p.grad)
                for name, b in m._buffers.items():
                    if b is not None:
                        m._buffers[name] = fn(b)
        return self

    def to(self, *args, **kwargs) -> "Module":
        dtype, device = kwargs.pop("dtype", None), kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        if kwargs:
            fail(TypeError, f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            elif isinstance(a, dt.DType):
                dtype = a
            elif a is not None:
                device = a
        if dtype is not None:
            dtype = dt.as_dtype(dtype)
            if dtype.category != dt.FLOAT:
                fail(TypeError, f"nn.Module.to only accepts floating point or complex dtypes, "
                                f"but got desired dtype={dtype.name}")

        def convert(t):
            if dtype is not None and t.dtype.category == dt.FLOAT:
                t = t.to(dtype=dtype)
            if device is not None:
                t = t.to(device)
            return t
        return self._apply(convert)

    def _to_float_dtype(self, dtype):
        return self._apply(lambda t: t.to(dtype=dtype) if t.dtype.category == dt.FLOAT else t)

    def float(self) -> "Module":
        return self._to_float_dtype(dt.float32)

    def double(self) -> "Module":
        return self._to_float_dtype(dt.float64)

    def half(self) -> "Module":
        return self._to_float_dtype(dt.float16)

    def bfloat16(self) -> "Module":
        return self._to_float_dtype(dt.bfloat16)

    def type(self, dst_type) -> "Module":
        return self._apply(lambda t: t.to(dtype=dst_type))

    def cpu(self) -> "Module":
        return self.to("cpu")

    def cuda(self, device=None) -> "Module":
        return self.to("cuda" if device is None else device)

    def share_memory(self) -> "Module":
        return self._apply(lambda t: t.share_memory_() if hasattr(t, "share_memory_") else t)

    # ---- state dict -------------------------------------------------------------------------
    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()

    def state_dict(self, *args, destination=None, prefix="", keep_vars=False):
        if args:  # PyTorch's deprecated positional form (destination, prefix, keep_vars)
            destination = args[0]
            if len(args) > 1:
                prefix = args[1]
            if len(args) > 2:
                keep_vars = args[2]
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        metadata = getattr(destination, "_metadata", None)
        for pre, m in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            mp = pre + "." if pre else ""
            if metadata is not None:
                metadata[pre] = {"version": m._version}
            m._save_to_state_dict(destination, mp, keep_vars)
            for hook in m._state_dict_hooks.values():
                r = hook(m, destination, mp, {})
                if r is not None:
                    destination = r
        return destination

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs, assign=False):
        persistent = {k: v for k, v in self._buffers.items()
                      if k not in self._non_persistent_buffers_set}
        local = {k: v for k, v in itertools.chain(self._parameters.items(), persistent.items())
                 if v is not None}
        for name, param in local.items():
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            src = state_dict[key]
            if not isinstance(src, Tensor):
                if _is_array_like(src):
                    from ...frontend.creation import tensor as make_tensor
                    src = make_tensor(src)
                else:
                    error_msgs.append(f'While copying the parameter named "{key}", expected '
                                      f'torch.Tensor or Tensor-like object from checkpoint but '
                                      f'received {type(src)}')
                    continue
            if tuple(src.shape) != tuple(param.shape):
                error_msgs.append(f"size mismatch for {key}: copying a param with shape "
                                  f"{src.shape!r} from checkpoint, the shape in current model "
                                  f"is {param.shape!r}.")
                continue
            try:
                _load_value(self, name, param, src, assign)
            except Exception as ex:  # report like PyTorch, with both shapes
                error_msgs.append(f'While copying the parameter named "{key}", whose '
                                  f'dimensions in the model are {param.shape} and whose '
                                  f'dimensions in the checkpoint are {src.shape}, an exception '
                                  f'occurred : {ex.args}.')
        if strict:
            for key in state_dict:
                if key.startswith(prefix):
                    head = key[len(prefix):].split(".", 1)[0]
                    if head not in self._modules and head not in local:
                        unexpected_keys.append(key)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        if not isinstance(state_dict, Mapping):
            fail(TypeError, f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)
        missing, unexpected, errors = [], [], []
        # Like PyTorch, missing and unexpected keys are always collected; `strict` only
        # decides whether they are errors.
        for pre, m in self.named_modules(remove_duplicate=False):
            mp = pre + "." if pre else ""
            local_md = {} if metadata is None else metadata.get(pre, {})
            m._pre_load_state_dict(state_dict, mp, local_md)
            m._load_from_state_dict(state_dict, mp, local_md, True, missing, unexpected,
                                    errors, assign)
        keys = _IncompatibleKeys(missing, unexpected)
        for _, m in self.named_modules():
            for hook in m._load_state_dict_post_hooks.values():
                hook(m, keys)
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected)))
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in missing)))
        if errors:
            fail(RuntimeError, "Error(s) in loading state_dict for {}:\n\t{}".format(
                type(self).__name__, "\n\t".join(errors)))
        return keys

    def _pre_load_state_dict(self, state_dict, prefix, local_metadata):
        """Hook for layers that fill in keys older checkpoints lack (BatchNorm)."""

    # ---- printing -----------------------------------------------------------------------------
    def _get_name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({key}): " + _addindent(repr(m), 2) for key, m in self._modules.items()]
        lines = extra_lines + child_lines
        s = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                s += extra_lines[0]
            else:
                s += "\n  " + "\n  ".join(lines) + "\n"
        return s + ")"


def _is_array_like(x) -> bool:
    import numpy as np
    return isinstance(x, np.ndarray) or hasattr(x, "__array__") and hasattr(x, "shape")


def _load_value(module, name, param, src, assign):
    """Copy `src` into a parameter or buffer (dtype and device of the destination)."""
    with no_grad():
        if isinstance(param, Parameter):
            if assign:
                value = src.detach()
            else:
                value = src.detach()
                if value.dtype is not param.dtype:
                    value = value.to(dtype=param.dtype)
                if value.device != param.device:
                    value = value.to(param.device)
            param._set_value(value.node)
            param._version += 1
        else:
            value = src.detach()
            if not assign:
                if value.dtype is not param.dtype:
                    value = value.to(dtype=param.dtype)
                if value.device != param.device:
                    value = value.to(param.device)
            module._buffers[name] = value if not assign else src
