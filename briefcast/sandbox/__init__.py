"""Local sandboxes that speak the Instagram Graph and LinkedIn REST wire contracts.

See /work/shared/reference/external-apis.md §0, §2 and §3. Production clients talk to them
unchanged: only the base URL and the token differ.
"""

from briefcast.sandbox.server import RunningServer, serve_in_thread

__all__ = ["RunningServer", "serve_in_thread"]
