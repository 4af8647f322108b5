// One relying party session with panva's openid-client v6 against a running passportoffice.
//
// Usage: node openid_client_flow.mjs '{"issuer": ..., "clientId": ..., "clientSecret": ..., "authMethod": ...,
//                                     "redirectUri": ..., "scope": ..., "flow": "code", "stopAfterCallback": false,
//                                     "authorizationParams": {}}'
// flow: "code" (the sign-in below) or "client_credentials" (one grant, no browser, no stdin).
// authMethod: "none" (public client), "client_secret_basic", or "client_secret_post" (openid-client's default
// when it is handed a secret and nothing else).
// Protocol with the Python test that drives it (it plays the browser):
//   stdout line 1: {"authorization_url": "..."}
//   stdin  line 1: the URL the provider redirected the browser to (the callback, with code, state and iss)
//   stdout line 2: the JSON summary; errors are reported in it, never thrown, so the test sees their codes.
//
// Every check is openid-client's own, at its defaults: issuer validation at discovery, PKCE S256, state,
// nonce, RFC 9207 `iss`, the ID token's iss, aud, exp, iat, auth_time against max_age, at_hash, userinfo
// `sub`. One check is added: enableNonRepudiationChecks, so that the ID token's signature is verified with
// the keys from jwks_uri (by default openid-client relies on TLS for that, and there is no TLS here).
// The single relaxation is allowInsecureRequests, because the test issuer is http://localhost (an https
// certificate for a loopback test server would prove nothing about OAuth).
import * as client from 'openid-client'
import { createInterface } from 'node:readline'

const options = JSON.parse(process.argv[2])
const MAX_AGE = 300 // seconds; openid-client then requires auth_time and checks it

function emit(value) {
  process.stdout.write(JSON.stringify(value) + '\n')
}

async function describe(error) {
  const described = {
    name: error?.constructor?.name ?? typeof error,
    code: error?.code ?? null, // openid-client / oauth4webapi processing code, e.g. OAUTH_INVALID_RESPONSE
    error: error?.error ?? null, // the OAuth `error` value of an error response
    status: error?.status ?? null,
    message: String(error?.message ?? error),
    cause: error?.cause instanceof Error ? String(error.cause.message) : null,
  }
  if (error instanceof client.WWWAuthenticateChallengeError) {
    // openid-client stops at the challenge; the response body (unread) still carries the OAuth error.
    described.challenges = error.cause.map(({ scheme }) => scheme)
    described.error = (await error.response.json().catch(() => ({}))).error ?? null
  }
  return described
}

async function attempt(step) {
  try {
    return { ok: true, value: await step() }
  } catch (error) {
    return { ok: false, error: await describe(error) }
  }
}

async function readLine() {
  const lines = createInterface({ input: process.stdin })
  for await (const line of lines) {
    lines.close()
    return line.trim()
  }
  throw new Error('stdin closed before the callback URL arrived')
}

function token(response) {
  return {
    access_token: response.access_token,
    refresh_token: response.refresh_token ?? null,
    token_type: response.token_type,
    scope: response.scope ?? null,
    expires_in: response.expiresIn() ?? null,
    id_token: response.id_token ?? null,
    id_token_claims: response.claims() ?? null,
  }
}

async function main() {
  const summary = {}
  const authentication = {
    none: () => [undefined, client.None()],
    client_secret_basic: () => [undefined, client.ClientSecretBasic(options.clientSecret)],
    client_secret_post: () => [options.clientSecret, undefined],
  }[options.authMethod]()
  const config = await client.discovery(new URL(options.issuer), options.clientId, ...authentication, {
    // allowInsecureRequests: the issuer is http://localhost, and openid-client refuses any non-https request.
    execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
  })
  summary.issuer = config.serverMetadata().issuer
  if (options.flow === 'client_credentials') {
    const grant = await attempt(() => client.clientCredentialsGrant(config, { scope: options.scope }))
    summary.client_credentials = grant.ok ? { ok: true, value: token(grant.value) } : grant
    return summary
  }

  const codeVerifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const nonce = client.randomNonce()
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: options.redirectUri,
    scope: options.scope,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    max_age: String(MAX_AGE),
    ...options.authorizationParams,
  })
  emit({ authorization_url: authorizationUrl.href })

  const callback = new URL(await readLine())
  const grant = await attempt(() =>
    client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: codeVerifier,
      expectedState: state,
      expectedNonce: nonce,
      maxAge: MAX_AGE,
      idTokenExpected: true,
    }),
  )
  if (!grant.ok) {
    summary.code_grant = grant
    return summary
  }
  const tokens = grant.value
  summary.code_grant = { ok: true, nonce, value: token(tokens) }
  if (options.stopAfterCallback) return summary

  const sub = tokens.claims().sub
  summary.userinfo = await attempt(() => client.fetchUserInfo(config, tokens.access_token, sub))

  const first = await client.refreshTokenGrant(config, tokens.refresh_token)
  const second = await client.refreshTokenGrant(config, first.refresh_token)
  summary.refreshes = [token(first), token(second)]
  summary.userinfo_after_refresh = await attempt(() => client.fetchUserInfo(config, second.access_token, sub))

  if (options.authMethod !== 'none') {
    // RFC 7662 needs client authentication; a public client has none.
    summary.introspection = await attempt(() => client.tokenIntrospection(config, second.access_token))
  }
  summary.revocation = await attempt(() => client.tokenRevocation(config, second.refresh_token))
  summary.refresh_after_revocation = await attempt(() => client.refreshTokenGrant(config, second.refresh_token))
  if (options.authMethod !== 'none') {
    summary.introspection_after_revocation = await attempt(() =>
      client.tokenIntrospection(config, second.refresh_token),
    )
  }
  return summary
}

main().then(
  (summary) => emit({ outcome: 'ok', summary }),
  async (error) => {
    emit({ outcome: 'error', error: await describe(error), stack: error?.stack ?? null })
    process.exitCode = 1
  },
)
