"""Runtime: devices, device-resident buffers, loaded executables."""
