// The OpenID provider the sign-in tests sign people in with: node oidc-provider (pinned in package.json),
// configured as a company would configure its identity provider for cdp-mcp, started by tests/signin/idp.py.
//
// Usage: node provider.mjs CONFIG.json. The configuration (written by the test) names the port, the signing keys
// (private JWKs, the first signs), the protected resource and its scopes, the people and what each is entitled
// to, a confidential client for the client-credentials grant, and a state file. Prints "listening <issuer>" once
// it accepts connections.
//
// What it does, through oidc-provider's own machinery (nothing here imitates a protocol step):
// - discovery, dynamic client registration (open, as MCP hosts expect), PKCE, RFC 8707 resource indicators with
//   JWT access tokens (RFC 9068) for the one resource, refresh tokens (offline_access), client credentials;
// - sign-in and consent as HTTP interactions a test drives like a browser: GET /interaction/<uid> says which
//   prompt is pending (JSON), POST /interaction/<uid>/login with `login=<person>` signs that person in, POST
//   /interaction/<uid>/confirm gives consent;
// - the company's policy: the resource's scopes are default scopes (like Keycloak's default client scopes):
//   whatever a host asks for, consent grants each person the scopes they are entitled to and no other;
// - state (clients, grants, refresh tokens) kept in a file, so the provider can restart with rotated keys and
//   people stay signed in, as with a real deployment;
// - a log (JSON lines, config.log_file) of the authorization, token and registration requests it received.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;
const resourceScopes = new Set(config.scopes);
const log = (entry) => appendFileSync(config.log_file, `${JSON.stringify(entry)}\n`);

// -- state that survives a restart -------------------------------------------------------------------------------
const state = existsSync(config.state_file) ? JSON.parse(readFileSync(config.state_file, 'utf8')) : {};
const now = () => Math.floor(Date.now() / 1000);
const save = () => writeFileSync(config.state_file, JSON.stringify(state));

class FileAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    if (this.model === 'Client' && payload.scope !== undefined) {
      // The resource's scopes are default scopes of every client, as Keycloak gives new clients its realm's
      // default client scopes: a host registering with `cdp:read` may still receive what its person is granted.
      payload.scope = [...new Set([...payload.scope.split(' '), ...resourceScopes])].join(' ');
    }
    state[this.key(id)] = { payload, exp: expiresIn ? now() + expiresIn : null };
    save();
  }

  async find(id) {
    const entry = state[this.key(id)];
    if (!entry || (entry.exp && entry.exp < now())) return undefined;
    return entry.payload;
  }

  async findByUid(uid) {
    const entry = Object.entries(state).find(([k, v]) => k.startsWith(`${this.model}:`) && v.payload.uid === uid);
    return entry ? this.find(entry[0].slice(this.model.length + 1)) : undefined;
  }

  async findByUserCode() {
    return undefined;
  }

  async consume(id) {
    const entry = state[this.key(id)];
    if (entry) {
      entry.payload.consumed = now();
      save();
    }
  }

  async destroy(id) {
    delete state[this.key(id)];
    save();
  }

  async revokeByGrantId(grantId) {
    for (const [k, v] of Object.entries(state)) {
      if (v.payload.grantId === grantId) delete state[k];
    }
    save();
  }
}

// -- the provider ---------------------------------------------------------------------------------------------------
const provider = new Provider(issuer, {
  adapter: FileAdapter,
  jwks: { keys: config.keys },
  cookies: { keys: ['cdp-mcp-test-cookie-key-0123456789'] },
  clients: config.clients,
  clientDefaults: { id_token_signed_response_alg: config.keys[0].alg },
  scopes: ['openid', 'offline_access', ...config.scopes],  // listed in the metadata; hosts register with them
  claims: { openid: ['sub'], email: ['email'] },
  findAccount: (ctx, id) => (config.people[id]
    ? { accountId: id, claims: () => ({ sub: id, email: config.people[id].email }) }
    : undefined),
  // The person's email in their access tokens, as IdPs add profile claims (CDP_MCP_OAUTH_PRINCIPAL_CLAIM=email).
  extraTokenClaims: (ctx, token) => (token.accountId && config.people[token.accountId]
    ? { email: config.people[token.accountId].email } : undefined),
  pkce: { required: () => true },
  ttl: {
    AccessToken: config.access_token_ttl,
    ClientCredentials: config.access_token_ttl,
    AuthorizationCode: 60,
    RefreshToken: 3600,
    Grant: 3600,
    Interaction: 600,
    Session: 3600,
    IdToken: 600,
  },
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true },
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => config.resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, indicator) => {
        if (indicator !== config.resource) throw new errors.InvalidTarget();
        return {
          scope: [...resourceScopes].join(' '),
          audience: config.resource,
          accessTokenTTL: config.access_token_ttl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: config.keys[0].alg } },
        };
      },
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  renderError: (ctx, out) => {
    ctx.type = 'json';
    ctx.body = out;
  },
});

// The company's policy: a request for the resource is a request for all its scopes (default scopes); consent
// then grants the person's entitlement only. The log records what each request asked for.
provider.use(async (ctx, next) => {
  if (ctx.path === '/auth' && ctx.method === 'GET') {
    log({ endpoint: 'authorization', ...ctx.query });
    const others = (ctx.query.scope ?? '').split(' ').filter((s) => s && !resourceScopes.has(s));
    ctx.querystring = new URLSearchParams({ ...ctx.query, scope: [...others, ...resourceScopes].join(' ') }).toString();
  }
  await next();
});
provider.on('grant.success', (ctx) => {
  const { grant_type: grantType, resource, scope, code_verifier: verifier } = ctx.oidc.params;
  log({ endpoint: 'token', grant_type: grantType, resource, scope, code_verifier: verifier ? 'sent' : undefined });
});
provider.on('registration_create.success', (ctx, client) => {
  log({ endpoint: 'registration', client_id: client.clientId, redirect_uris: client.redirectUris,
             grant_types: client.grantTypes, application_type: client.applicationType });
});
provider.on('server_error', (ctx, err) => console.error(err));

// -- the interaction pages, driven over HTTP ---------------------------------------------------------------------
async function interaction(req, res, url) {
  const [, , uid, action] = url.pathname.split('/');
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    return json(res, 400, { error: 'no_interaction', error_description: String(err.message) });
  }
  if (details.uid !== uid) return json(res, 400, { error: 'wrong_interaction' });
  const { prompt, params, session } = details;
  if (req.method === 'GET') {
    return json(res, 200, { uid, prompt: prompt.name, client_id: params.client_id, resource: params.resource,
                            scope: params.scope });
  }
  const form = Object.fromEntries(new URLSearchParams(await text(req)));
  if (action === 'login' && prompt.name === 'login') {
    if (!config.people[form.login]) return json(res, 403, { error: 'unknown_person' });
    return provider.interactionFinished(req, res, { login: { accountId: form.login } },
                                        { mergeWithLastSubmission: false });
  }
  if (action === 'confirm' && prompt.name === 'consent') {
    const entitled = new Set(config.people[session.accountId].entitled);
    let grant = details.grantId ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const missing = prompt.details.missingOIDCScope ?? [];
    grant.addOIDCScope(missing.filter((s) => !resourceScopes.has(s)).join(' '));
    grant.rejectOIDCScope(missing.filter((s) => resourceScopes.has(s)).join(' '));  // theirs is the resource's
    for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.filter((s) => entitled.has(s)).join(' '));
      grant.rejectResourceScope(indicator, scopes.filter((s) => !entitled.has(s)).join(' '));
    }
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  return json(res, 400, { error: 'unexpected', prompt: prompt.name, action });
}

function json(res, status, body) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(body));
}

async function text(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

const callback = provider.callback();
const server = createServer(async (req, res) => {
  const url = new URL(req.url, issuer);
  try {
    if (url.pathname.startsWith('/interaction/')) return await interaction(req, res, url);
    return callback(req, res);
  } catch (err) {
    console.error(err);
    return json(res, 500, { error: 'server_error', error_description: String(err.message) });
  }
});
server.listen(config.port, '127.0.0.1', () => console.log(`listening ${issuer}`));
