// The peer in `make bench`: oidc-provider (OpenID Certified), configured like passportoffice.
//
//   node server.mjs CONFIG.json
//
// CONFIG (written by benchmarks/peer.py): port, issuer, audience, access_token_alg (ES256 or RS256),
// service {client_id, client_secret, scope}, app {client_id, redirect_uri}, refresh_tokens (how many
// to seed), refresh_bodies and refresh_check (files to write them to), ttl {...} (ours, in seconds).
//
// Like passportoffice's defaults:
// - client_credentials for a confidential client with client_secret_basic; the access token is an
//   RFC 9068 JWT (typ at+jwt) for the client's audience, signed with access_token_alg. oidc-provider
//   issues JWT access tokens through Resource Indicators: getResourceServerInfo says accessTokenFormat
//   'jwt' and the signing alg, and defaultResource names the audience when the request does not.
// - refresh_token for a public client, rotated on every use (rotateRefreshToken: true), the access
//   token a JWT as above and an ID token signed RS256 (oidc-provider's default, and ours).
// - one ES256 and one RS256 signing key in the JWK Set; discovery and JWKS at their usual paths.
// - the generic in-memory adapter the library provides "to get you started" and uses by default
//   (lib/adapters/memory_adapter.js), unchanged; only its LRU store is given room for the seeded
//   tokens, since the default store keeps about 1,000 entries and would evict them before their use.
//
// Seeding: each refresh token is created through the provider's own model API, as its code flow would
// leave it (a Session with the user logged in, a Grant for the client with scope "openid profile" and
// the audience, and a RefreshToken bound to both, expiring with the session), so every refresh finds
// its token, its session and its grant as in real use. One session and grant per token: a session
// holds one grant per client, and ours gives each seeded token a grant of its own too.
// The tokens are written one request body per line, before the server listens: ready means seeded.

import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import Provider, { errors } from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { audience, service, app, ttl } = config;
const USER_SCOPES = 'openid profile';

const VERSION = createRequire(import.meta.url)('oidc-provider/package.json').version;

function signingKey(alg) {
  const { privateKey } = alg === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: randomUUID() };
}

// Each seeded token leaves a handful of entries (session, its uid index, grant, token, grant index), and
// every rotation adds two: room for all of them, so nothing is evicted during a run.
// This is what the library does with its default adapter (createMemoryAdapter), with a larger store.
const store = new LRU({ maxSize: 16 * (config.refresh_tokens + 1) + 100_000 });

const accounts = new Map();

const provider = new Provider(config.issuer, {
  adapter: (model) => new MemoryAdapter(model, store),
  jwks: {
    keys: [signingKey('ES256'), signingKey('RS256')],
  },
  clients: [
    {
      client_id: service.client_id,
      client_secret: service.client_secret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: service.scope,
    },
    {
      client_id: app.client_id,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [app.redirect_uri],
      token_endpoint_auth_method: 'none',
      scope: 'openid profile email offline_access',
    },
  ],
  scopes: ['openid', 'offline_access', 'profile', 'email', ...service.scope.split(' ')],
  claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
  findAccount: async (ctx, id) => {
    const account = accounts.get(id);
    return account && { accountId: id, claims: async () => ({ sub: id, name: account.name }) };
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, client, oneOf) => oneOf ?? audience,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, resource) => {
        if (resource !== audience) throw new errors.InvalidTarget();
        return {
          scope: service.scope,
          audience,
          accessTokenTTL: ttl.access_token,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: config.access_token_alg } },
        };
      },
    },
  },
  rotateRefreshToken: true,
  // Ours issues refresh tokens to its first-party app without offline_access, bound to the session.
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  ttl: {
    AccessToken: ttl.access_token,
    ClientCredentials: ttl.access_token,
    IdToken: ttl.id_token,
    AuthorizationCode: ttl.authorization_code,
    RefreshToken: ttl.refresh_token_idle,
    Grant: ttl.refresh_token_absolute,
    Session: ttl.session,
    Interaction: ttl.authorization_request,
  },
  cookies: { keys: [randomUUID()] },
  pkce: { required: () => true },
});

async function seed(count) {
  const client = await provider.Client.find(app.client_id);
  const now = Math.floor(Date.now() / 1000);
  const bodies = [];
  for (let index = 0; index < count; index += 1) {
    const accountId = `bench-user-${index % 64}`;
    accounts.set(accountId, { name: `Bench User ${index % 64}` });
    const grant = new provider.Grant({ accountId, clientId: client.clientId });
    grant.addOIDCScope(USER_SCOPES);
    grant.addResourceScope(audience, service.scope);
    const grantId = await grant.save();
    const sid = randomUUID();
    const session = new provider.Session({
      accountId,
      loginTs: now,
      amr: ['pwd'],
      authorizations: { [client.clientId]: { sid, grantId } },
    });
    await session.save(ttl.session);
    const token = new provider.RefreshToken({
      accountId,
      client,
      grantId,
      gty: 'authorization_code',
      scope: USER_SCOPES,
      resource: audience,
      sessionUid: session.uid,
      sid,
      expiresWithSession: true,
      authTime: now,
      amr: ['pwd'],
      rotations: 0,
    });
    const value = await token.save();
    const body = new URLSearchParams({
      grant_type: 'refresh_token',
      client_id: client.clientId,
      refresh_token: value,
    });
    bodies.push(body.toString());
  }
  return bodies;
}

const [check, ...bodies] = await seed(config.refresh_tokens + 1);
writeFileSync(config.refresh_check, `${check}\n`);
writeFileSync(config.refresh_bodies, bodies.map((body) => `${body}\n`).join(''));

// A failed check, or an unexpected status during a run: the log says why (the answer says less).
provider.on('grant.error', (ctx, error) => console.error(`grant.error: ${error.message} (${error.error_detail})`));
provider.on('server_error', (ctx, error) => console.error('server_error', error));
const server = provider.listen(config.port, '127.0.0.1');
process.on('SIGINT', () => server.close(() => process.exit(0)));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
console.log(`oidc-provider ${VERSION} on Node.js ${process.version} listening on ${config.issuer}`);
