"""A real OAuth authorization server on loopback for the sign-in tests: keys made at test time, discovery,
JWKS and introspection served over HTTP by uvicorn on a background thread, tokens signed with PyJWT.

It issues nothing through a browser flow: tests mint the tokens a real IdP would issue after sign-in, with
whatever claims (or faults) a test needs, and can rotate keys, add an RSA key, take the JWKS down, or
register opaque tokens for introspection.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import anyio
import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from cdp_mcp.sandbox.server import bind_socket

__all__ = ["AuthServer", "SigningKey"]

CLIENT_ID, CLIENT_SECRET = "cdp-mcp-resource", "introspection-secret-for-tests-0123"


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: Any

    @classmethod
    def ec(cls) -> SigningKey:
        return cls(f"ec-{secrets.token_hex(4)}", "ES256", ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def rsa(cls) -> SigningKey:
        return cls(f"rsa-{secrets.token_hex(4)}", "RS256", rsa.generate_private_key(public_exponent=65537,
                                                                                    key_size=2048))

    def jwk(self) -> dict[str, Any]:
        algorithm = ECAlgorithm if self.alg.startswith("ES") else RSAAlgorithm
        data: dict[str, Any] = algorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**data, "kid": self.kid, "use": "sig", "alg": self.alg}


@dataclass
class AuthServer:
    """Start with `start()`; `issuer` is its URL. Mint tokens with `token(...)`."""

    audience: str = ""
    keys: list[SigningKey] = field(default_factory=lambda: [SigningKey.ec()])
    jwks_down: bool = False
    jwks_text: str | None = None  # served instead of the key set (a malformed or hostile document)
    jwks_fetches: int = 0
    introspections: int = 0
    opaque: dict[str, dict[str, Any]] = field(default_factory=dict)
    introspection_refusal: tuple[int, dict[str, Any]] | None = None  # (status, body) answered to any caller
    max_age: int | None = 300  # the JWKS response's Cache-Control max-age; None: no Cache-Control at all
    discovery_moved: bool = False  # the discovery document answers a redirect (cdp-mcp follows none)
    user_agents: set[str] = field(default_factory=set)  # every User-Agent that asked anything
    trailing_slash: bool = False  # the issuer identifier ends in "/" (Auth0's do)
    announced_issuer: str | None = None  # the issuer its metadata names, when not its own (a mix-up)

    def __post_init__(self) -> None:
        self._sock = bind_socket("127.0.0.1", 0)
        self.port = self._sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.issuer = self.base + ("/" if self.trailing_slash else "")
        self._server: uvicorn.Server | None = None
        self._thread = threading.Thread(target=self._run, name=f"authserver-{self.port}", daemon=True)
        self._ready = threading.Event()

    # -- tokens ---------------------------------------------------------------------------------------------

    def token(self, scopes: str = "cdp:read", *, sub: str = "ada", lifetime: float = 600, not_before: float = 0,
              key: SigningKey | None = None, header: dict[str, Any] | None = None, **claims: Any) -> str:
        """A signed access token; any claim can be overridden (`iss=`, `aud=`, `exp=`...) or removed (None)."""
        key = key or self.keys[0]
        now = time.time()
        body = {"iss": self.issuer, "aud": self.audience, "sub": sub, "client_id": "test-client", "scope": scopes,
                "iat": int(now), "exp": int(now + lifetime), **({"nbf": int(now + not_before)} if not_before else {}),
                **claims}
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, key.private, algorithm=key.alg, headers={"kid": key.kid, **(header or {})})

    def opaque_token(self, scopes: str = "cdp:read", *, active: bool = True, sub: str = "grace",
                     **claims: Any) -> str:
        token = secrets.token_urlsafe(24)
        self.opaque[token] = {"active": active, "iss": self.issuer, "aud": self.audience, "sub": sub,
                              "client_id": "test-client", "scope": scopes, "exp": int(time.time() + 600), **claims}
        return token

    def rotate(self, *, keep_old: bool = False) -> SigningKey:
        """A new signing key first in line; the old one stays published only with keep_old."""
        new = SigningKey.ec()
        self.keys = [new, *self.keys] if keep_old else [new]
        return new

    # -- HTTP ----------------------------------------------------------------------------------------------

    def _app(self) -> Starlette:
        async def discovery(request: Request) -> Response:
            self.user_agents.add(request.headers.get("user-agent", ""))
            if self.discovery_moved and not request.url.path.startswith("/moved/"):
                return RedirectResponse(f"{self.base}/moved/.well-known/openid-configuration", status_code=302)
            return JSONResponse({"issuer": self.announced_issuer or self.issuer, "jwks_uri": f"{self.base}/jwks",
                                 "introspection_endpoint": f"{self.base}/introspect",
                                 "authorization_endpoint": f"{self.base}/authorize",
                                 "token_endpoint": f"{self.base}/token"})

        async def jwks(request: Request) -> JSONResponse:
            self.user_agents.add(request.headers.get("user-agent", ""))
            self.jwks_fetches += 1
            if self.jwks_down:
                return JSONResponse({"error": "down"}, status_code=503)
            if self.jwks_text is not None:
                return Response(self.jwks_text, media_type="application/json")
            return JSONResponse({"keys": [k.jwk() for k in self.keys]},
                                headers={} if self.max_age is None else {"Cache-Control": f"max-age={self.max_age}"})

        async def introspect(request: Request) -> JSONResponse:
            self.user_agents.add(request.headers.get("user-agent", ""))
            self.introspections += 1
            if self.introspection_refusal is not None:
                status, body = self.introspection_refusal
                return JSONResponse(body, status_code=status)
            expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if request.headers.get("authorization") != expected:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            form = await request.form()
            return JSONResponse(self.opaque.get(str(form.get("token")), {"active": False}))

        return Starlette(routes=[Route("/.well-known/openid-configuration", discovery),
                                 Route("/moved/.well-known/openid-configuration", discovery),
                                 Route("/jwks", jwks), Route("/introspect", introspect, methods=["POST"])])

    def _run(self) -> None:
        self._server = uvicorn.Server(uvicorn.Config(self._app(), log_config=None, log_level="warning",
                                                     lifespan="off"))

        async def main() -> None:
            assert self._server is not None
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._server.serve, [self._sock])
                while not self._server.started:
                    await anyio.sleep(0.005)
                self._ready.set()

        anyio.run(main)

    def start(self) -> AuthServer:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the test authorization server did not start")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()
