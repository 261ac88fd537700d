"""A loaded compiled module and its low-overhead call path.

The VM context and function are looked up once; each call packs the input buffer views into
a preallocated-size variant list and invokes the function directly (no reflection parsing,
no numpy conversion), returning device-resident `Buffer`s.
"""
from __future__ import annotations

import iree.runtime as rt

from .buffer import Buffer


class Executable:
    __slots__ = ("device", "module", "context", "function", "out_types", "n_in", "vmfb",
                 "is_async")

    def __init__(self, device, vmfb: bytes, out_types, n_in: int, entry: str = "main"):
        self.device, self.vmfb = device, vmfb
        self.module = rt.VmModule.copy_buffer(device.instance, vmfb)
        self.context = rt.VmContext(device.instance, modules=[device.hal_module, self.module])
        self.function = self.module.lookup_function(entry)
        if self.function is None:
            raise RuntimeError(f"compiled module has no function {entry!r}")
        self.out_types = list(out_types)  # [(dtype, shape)]
        self.n_in = n_in
        self.is_async = self.function.reflection.get("iree.abi.model") == "coarse-fences"

    def __call__(self, buffers, origin=None):
        """Enqueue one run; the returned buffers become valid when the device gets there."""
        args = rt.VmVariantList(len(buffers) + 2)
        for b in buffers:
            args.push_ref(b.view)
        ready = None
        if self.is_async:
            wait, ready = self.device.next_fences()
            args.push_ref(wait)
            args.push_ref(ready)
        rets = rt.VmVariantList(len(self.out_types))
        try:
            self.context.invoke(self.function, args, rets)
        except Exception:
            if self.is_async:
                # A run that fails on the host (a failed assert) never signals its fence:
                # signal it once earlier runs finish, so later graphs do not hang.
                wait.wait()
                ready.signal()
            raise
        dev = self.device
        outs = [Buffer(dev, rets.get_as_object(i, rt.HalBufferView), d, s, ready, origin)
                for i, (d, s) in enumerate(self.out_types)]
        if ready is not None:
            dev.retain(ready, (args, rets, [b.view for b in buffers], [o.view for o in outs]))
        return outs
