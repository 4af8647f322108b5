"""HTTP: the provider's endpoints (Starlette). Protocol decisions live in `protocol`, `provider`, `grants`."""
