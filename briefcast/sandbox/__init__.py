"""Local sandboxes that speak the Instagram Graph and LinkedIn REST wire contracts.

The contracts they keep are in docs/contracts/ (openai.md, instagram.md, linkedin.md),
and how the sandboxes mirror them in docs/contracts/sandboxes.md. Production clients
talk to them unchanged: only the base URL and the token differ.
"""

from briefcast.sandbox.server import RunningServer, serve_in_thread

__all__ = ["RunningServer", "serve_in_thread"]
