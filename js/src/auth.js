// passportoffice browser SDK: the authorization code flow with PKCE (RFC 6749 §4.1, RFC 7636) for a
// single-page app, with the access and ID tokens in memory and the refresh token in an HttpOnly cookie
// the provider sets and reads (refresh-cookie mode). No dependencies, no build step.
//
// Where things live:
//   access token, ID token  this module's memory (a private field); gone on reload, restored by restore()
//   refresh token           an HttpOnly `__Host-` cookie of the provider: no script can read it
//   login in flight         sessionStorage, keyed by state: PKCE verifier and nonce only (transactions.js)
// Nothing token-bearing is ever written to localStorage, sessionStorage, IndexedDB or document.cookie.

import { checkIdToken, decodeUnverified, IdTokenError, LEEWAY_SECONDS } from "./jwt.js";
import { randomToken, s256 } from "./pkce.js";
import { Tabs } from "./tabs.js";
import { saveTransaction, takeTransaction } from "./transactions.js";

export { decodeUnverified, IdTokenError, LEEWAY_SECONDS };

/** The custom header every cookie-carrying request sends: it forces a CORS preflight (CSRF, K37). */
export const REQUESTED_WITH = "passportoffice";

// How long a tab waits for another tab to hand over tokens it is known to hold.
const SHARE_TIMEOUT_MS = 3000;
// After a refresh failed for a reason other than the session being over (network, 5xx).
const RETRY_MS = 10_000;

/**
 * @typedef {import("./tabs.js").TokenSet} TokenSet
 * @typedef {import("./jwt.js").IdTokenClaims} IdTokenClaims
 *
 * @typedef {object} AuthOptions
 * @property {string} issuer the provider's issuer identifier, exactly as in its discovery document
 * @property {string} clientId a public client registered with `--refresh-cookie`
 * @property {string} redirectUri exactly as registered
 * @property {string} [scope] default "openid profile"
 * @property {string} [audience] the API the access token is for (RFC 8707 `resource`)
 * @property {string} [postLogoutRedirectUri] where the provider sends the browser after logout
 *
 * @typedef {object} ProviderMetadata
 * @property {string} issuer
 * @property {string} authorization_endpoint
 * @property {string} token_endpoint
 * @property {string} [end_session_endpoint]
 * @property {string} [passportoffice_refresh_cookie_endpoint]
 * @property {boolean} [authorization_response_iss_parameter_supported]
 * @property {string[]} [code_challenge_methods_supported]
 *
 * @typedef {object} Session a snapshot of what this tab holds in memory
 * @property {string} accessToken
 * @property {string} idToken
 * @property {string} scope
 * @property {number} expiresAt when the access token expires, milliseconds since the epoch
 * @property {number} receivedAt
 *
 * @typedef {"discovery" | "authorize" | "callback" | "token" | "refresh" | "shared" | "logout"} FlowStep
 *
 * @typedef {object} FlowDetail what the flow inspector shows: one step of the protocol, no secrets
 * @property {FlowStep} step
 * @property {number} at milliseconds since the epoch
 * @property {string} summary
 * @property {{ [name: string]: unknown }} [data]
 */

/** A login, callback or refresh that failed; `code` is an OAuth error code or one of the SDK's own. */
export class AuthError extends Error {
  /**
   * @param {string} code
   * @param {string} [description]
   */
  constructor(code, description) {
    super(description ? `${code}: ${description}` : code);
    this.name = "AuthError";
    this.code = code;
  }
}

/**
 * @param {AuthOptions} options
 * @returns {Auth}
 */
export function createAuth(options) {
  return new Auth(options);
}

/**
 * The session of one app in one tab. Events: `login`, `refresh`, `logout`, `error` (and `flow`, every
 * protocol step, for the demo's inspector), each a CustomEvent.
 */
export class Auth extends EventTarget {
  /** @type {Required<Omit<AuthOptions, "audience" | "postLogoutRedirectUri">> & AuthOptions} */
  #options;
  /** @type {Promise<ProviderMetadata> | null} */
  #metadata = null;
  /** @type {TokenSet | null} */
  #tokens = null;
  /** @type {IdTokenClaims | null} */
  #claims = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #timer;
  /** @type {Promise<boolean> | null} */
  #inflight = null;
  /** @type {Tabs} */
  #tabs;

  /** @param {AuthOptions} options */
  constructor(options) {
    super();
    for (const name of /** @type {const} */ (["issuer", "clientId", "redirectUri"])) {
      if (typeof options[name] !== "string" || options[name] === "") throw new TypeError(`${name} is required`);
    }
    this.#options = { scope: "openid profile", ...options };
    this.#tabs = new Tabs(`passportoffice:${options.issuer}|${options.clientId}`, {
      onTokens: (tokens) => this.#adopt(tokens),
      onLogout: () => this.#end("another tab logged out"),
      fresh: () => (this.#tokens && !isDue(this.#tokens, Date.now()) ? this.#tokens : null),
    });
  }

  /**
   * The ID token's claims, for display: DECODED, NOT VERIFIED. The SDK checked them (issuer, audience,
   * nonce, expiry) when the token arrived from the token endpoint, but a claim shown here is never a
   * reason to allow anything: APIs decide from the access token, which they verify.
   *
   * @returns {IdTokenClaims | null}
   */
  get user() {
    return this.#claims;
  }

  /** @returns {Session | null} what this tab holds in memory (for the inspector; treat as secret) */
  get session() {
    return this.#tokens ? { ...this.#tokens } : null;
  }

  /**
   * Start a login: store a new transaction and send the browser to the authorization endpoint.
   *
   * @param {{ returnTo?: string }} [options]
   * @returns {Promise<void>}
   */
  async login(options = {}) {
    location.assign(await this.authorizationUrl(options));
  }

  /**
   * A new authorization request URL; its transaction (keyed by its state) waits for the callback.
   *
   * @param {{ returnTo?: string }} [options]
   * @returns {Promise<string>}
   */
  async authorizationUrl(options = {}) {
    const metadata = await this.#discover();
    const state = randomToken();
    const verifier = randomToken();
    const nonce = randomToken();
    const url = new URL(metadata.authorization_endpoint);
    const { clientId, redirectUri, scope, audience } = this.#options;
    url.search = new URLSearchParams({
      response_type: "code",
      client_id: clientId,
      redirect_uri: redirectUri,
      scope,
      state,
      nonce,
      code_challenge: await s256(verifier),
      code_challenge_method: "S256",
      ...(audience ? { resource: audience } : {}),
    }).toString();
    const createdAt = Date.now();
    saveTransaction(sessionStorage, state, {
      verifier,
      nonce,
      redirectUri,
      authorizeUrl: url.toString(),
      createdAt,
      ...(options.returnTo === undefined ? {} : { returnTo: options.returnTo }),
    });
    this.#flow("authorize", "Redirect to the authorization endpoint (code + PKCE S256)", { url: url.toString() });
    return url.toString();
  }

  /**
   * Finish a login at the redirect URI: check `state`, then `iss` (RFC 9207), then exchange the code
   * and check the ID token. Nothing is kept unless every check passes; the state is used up either way.
   *
   * @param {string} [url] the callback URL; default the current location (then it is cleaned from history)
   * @returns {Promise<{ returnTo: string }>}
   */
  async handleCallback(url = location.href) {
    const callback = new URL(url);
    const params = callback.searchParams;
    if (url === location.href) history.replaceState(history.state, "", callback.pathname); // no code in history
    const state = params.get("state");
    const transaction = state === null ? null : takeTransaction(sessionStorage, state, Date.now());
    if (transaction === null) {
      throw this.#fail(new AuthError("invalid_state", "unknown, used or expired state: nothing exchanged"));
    }
    this.#flow(
      "authorize",
      "Redirected to the authorization endpoint (code + PKCE S256); the person signed in there",
      { url: transaction.authorizeUrl },
      transaction.createdAt,
    );
    const metadata = await this.#discover();
    const iss = params.get("iss");
    this.#flow("callback", "Back at the redirect URI", {
      code: params.has("code") ? "present (single use, bound to the PKCE verifier)" : "absent",
      state: "matches a pending login (now removed)",
      iss,
      error: params.get("error"),
    });
    // RFC 9207 §2.4: a missing or different `iss` means a mix-up; stop before the code goes anywhere.
    const issRequired = metadata.authorization_response_iss_parameter_supported === true;
    if (iss === null ? issRequired : iss !== this.#options.issuer) {
      throw this.#fail(new AuthError("invalid_issuer", "the authorization response's iss is missing or wrong"));
    }
    const error = params.get("error");
    if (error !== null) throw this.#fail(new AuthError(error, params.get("error_description") ?? undefined));
    const code = params.get("code");
    if (code === null) throw this.#fail(new AuthError("invalid_request", "no code in the callback"));

    const response = await this.#post(metadata.token_endpoint, {
      grant_type: "authorization_code",
      code,
      redirect_uri: transaction.redirectUri,
      client_id: this.#options.clientId,
      code_verifier: transaction.verifier,
    });
    const body = await readJson(response);
    this.#flow("token", `Code exchanged at the token endpoint: HTTP ${response.status}`, {
      endpoint: metadata.token_endpoint,
      refreshTokenInBody: typeof body.refresh_token === "string",
      refreshCookie: "set by the provider as an HttpOnly cookie: invisible to this page",
    });
    if (!response.ok) throw this.#fail(new AuthError(stringOr(body.error) ?? "token_error", stringOr(body.error_description)));
    const tokens = this.#accept(body, transaction.nonce);
    await this.#keep(tokens, "login");
    await this.#tabs.share(tokens.tokens);
    return { returnTo: transaction.returnTo ?? "/" };
  }

  /**
   * On page load: get fresh tokens through the refresh cookie (or from another open tab).
   *
   * @returns {Promise<boolean>} whether the user is logged in
   */
  async restore() {
    if (this.#tokens) return true;
    try {
      return await this.#refresh("restore", null);
    } catch (error) {
      this.#fail(error);
      return false;
    }
  }

  /**
   * The current access token, refreshed first when it is about to expire; null when logged out.
   *
   * @returns {Promise<string | null>}
   */
  async getAccessToken() {
    if (this.#tokens && isDue(this.#tokens, Date.now())) await this.#refresh("expiry", null);
    return this.#tokens?.accessToken ?? null;
  }

  /**
   * `fetch` with `Authorization: Bearer`. After a 401 whose WWW-Authenticate says `invalid_token` it
   * refreshes once and retries once (the API needs `Access-Control-Expose-Headers: WWW-Authenticate`).
   *
   * @param {RequestInfo | URL} input
   * @param {RequestInit} [init]
   * @returns {Promise<Response>}
   */
  async fetch(input, init) {
    const request = new Request(input, init);
    const token = await this.getAccessToken();
    if (token === null) throw new AuthError("login_required", "not logged in");
    const response = await fetch(withBearer(request.clone(), token));
    if (response.status !== 401 || !saysInvalidToken(response.headers.get("WWW-Authenticate"))) return response;
    await this.#refresh("rejected", token);
    const retry = this.#tokens?.accessToken;
    if (retry === undefined || retry === token) return response;
    return fetch(withBearer(request, retry));
  }

  /**
   * Log out everywhere: drop the tokens in this and every other tab, then navigate to the provider's
   * end-session endpoint, which revokes the refresh cookie's family and clears the cookie.
   *
   * @returns {Promise<void>}
   */
  async logout() {
    const metadata = await this.#discover();
    const idToken = this.#tokens?.idToken;
    this.#tabs.announceLogout();
    this.#end("logout");
    if (!metadata.end_session_endpoint) return;
    const url = new URL(metadata.end_session_endpoint);
    url.searchParams.set("client_id", this.#options.clientId);
    if (idToken) url.searchParams.set("id_token_hint", idToken);
    if (this.#options.postLogoutRedirectUri) {
      url.searchParams.set("post_logout_redirect_uri", this.#options.postLogoutRedirectUri);
    }
    location.assign(url.toString());
  }

  /** Stop timers and leave the tab group (tests, hot reload). */
  close() {
    clearTimeout(this.#timer);
    this.#tabs.close();
  }

  /** @returns {Promise<ProviderMetadata>} */
  #discover() {
    if (!this.#metadata) {
      const url = `${this.#options.issuer}/.well-known/openid-configuration`;
      this.#metadata = (async () => {
        const response = await fetch(url, { headers: { Accept: "application/json" } });
        const metadata = await readJson(response);
        // OIDC Discovery §4.3: the issuer in the document must be exactly the one configured.
        if (!response.ok || metadata.issuer !== this.#options.issuer) {
          throw new AuthError("invalid_configuration", "discovery document missing or for another issuer");
        }
        const methods = metadata.code_challenge_methods_supported;
        if (Array.isArray(methods) && !methods.includes("S256")) {
          throw new AuthError("invalid_configuration", "the provider does not support PKCE S256");
        }
        this.#flow("discovery", "Read the provider's discovery document", { url });
        return /** @type {ProviderMetadata} */ (/** @type {unknown} */ (metadata));
      })();
      this.#metadata.catch(() => {
        this.#metadata = null; // try again next time
      });
    }
    return this.#metadata;
  }

  /**
   * Single-flight refresh: one per tab at a time, one per app across tabs (Web Locks).
   *
   * @param {"restore" | "expiry" | "rejected"} reason
   * @param {string | null} rejected the access token an API refused, if that is the reason
   * @returns {Promise<boolean>} whether there are tokens afterwards
   */
  #refresh(reason, rejected) {
    if (!this.#inflight) {
      this.#inflight = this.#tabs
        .exclusive(() => this.#refreshHoldingLock(reason, rejected))
        .finally(() => {
          this.#inflight = null;
        });
    }
    return this.#inflight;
  }

  /**
   * @param {"restore" | "expiry" | "rejected"} reason
   * @param {string | null} rejected
   * @returns {Promise<boolean>}
   */
  async #refreshHoldingLock(reason, rejected) {
    const current = this.#tokens;
    // Another tab refreshed while this one waited for the lock, and its message already arrived.
    if (current && !isDue(current, Date.now()) && current.accessToken !== rejected) return true;
    const newest = await this.#tabs.newestElsewhere(current?.expiresAt ?? 0);
    if (newest !== null && !isDue({ expiresAt: newest }, Date.now())) {
      if (await this.#tabs.requestTokens(newest, SHARE_TIMEOUT_MS)) return true; // adopted on arrival
    }
    const metadata = await this.#discover();
    const endpoint = metadata.passportoffice_refresh_cookie_endpoint ?? `${metadata.token_endpoint}/refresh`;
    let response;
    try {
      response = await this.#post(endpoint, { client_id: this.#options.clientId });
    } catch (error) {
      this.#retryLater();
      throw error;
    }
    const body = await readJson(response);
    if (response.status === 400 && body.error === "invalid_grant") {
      this.#flow("refresh", "No valid refresh cookie: not logged in", { endpoint, status: response.status, reason });
      if (this.#tokens) this.#end("session ended");
      return false;
    }
    if (!response.ok) {
      this.#flow("refresh", `Refresh failed: HTTP ${response.status}`, { endpoint, status: response.status, reason });
      this.#retryLater();
      throw new AuthError(stringOr(body.error) ?? "refresh_failed", stringOr(body.error_description));
    }
    const tokens = this.#accept(body, undefined);
    this.#flow("refresh", `Silent refresh through the cookie (${reason}): HTTP ${response.status}`, {
      endpoint,
      reason,
      refreshTokenInBody: typeof body.refresh_token === "string",
      refreshCookie: "rotated by the provider: the old one is spent, the successor set as HttpOnly",
    });
    const previous = this.#claims?.sub;
    await this.#keep(tokens, previous === undefined || previous !== tokens.claims.sub ? "login" : "refresh");
    await this.#tabs.share(tokens.tokens);
    return true;
  }

  /**
   * Check a token response; nothing is kept here.
   *
   * @param {{ [name: string]: unknown }} body
   * @param {string | undefined} nonce expected in the ID token of a login; refreshed ones may omit it
   * @returns {{ tokens: TokenSet, claims: IdTokenClaims }}
   */
  #accept(body, nonce) {
    const { access_token: accessToken, id_token: idToken, expires_in: expiresIn, token_type: type } = body;
    if (
      typeof accessToken !== "string" ||
      typeof idToken !== "string" ||
      typeof expiresIn !== "number" ||
      !(expiresIn > 0) ||
      typeof type !== "string" ||
      type.toLowerCase() !== "bearer"
    ) {
      throw this.#fail(new AuthError("invalid_token_response", "the token response lacks a required member"));
    }
    const now = Date.now();
    let claims;
    try {
      claims = checkIdToken(idToken, {
        issuer: this.#options.issuer,
        clientId: this.#options.clientId,
        now: now / 1000,
        ...(nonce === undefined ? {} : { nonce }),
      });
    } catch (error) {
      throw this.#fail(error);
    }
    const scope = typeof body.scope === "string" ? body.scope : "";
    // A refresh_token in the body (a provider not in cookie mode) is deliberately not kept anywhere.
    return { tokens: { accessToken, idToken, scope, expiresAt: now + expiresIn * 1000, receivedAt: now }, claims };
  }

  /**
   * @param {{ tokens: TokenSet, claims: IdTokenClaims }} accepted
   * @param {"login" | "refresh"} event
   */
  async #keep({ tokens, claims }, event) {
    this.#tokens = tokens;
    this.#claims = claims;
    this.#schedule();
    this.#emit(event, { user: claims, source: "this tab" });
  }

  /**
   * Tokens another tab obtained (the cookie is shared, so they are this tab's session too).
   *
   * @param {TokenSet} tokens
   */
  #adopt(tokens) {
    if (this.#tokens && this.#tokens.expiresAt >= tokens.expiresAt) return;
    let claims;
    try {
      claims = /** @type {IdTokenClaims} */ (/** @type {unknown} */ (decodeUnverified(tokens.idToken).payload));
    } catch {
      return;
    }
    const previous = this.#claims?.sub;
    this.#tokens = tokens;
    this.#claims = claims;
    this.#schedule();
    void this.#tabs.hold(tokens.expiresAt);
    this.#flow("shared", "Tokens received from another tab (BroadcastChannel): no refresh call here", {
      expiresAt: tokens.expiresAt,
    });
    this.#emit(previous === claims.sub ? "refresh" : "login", { user: claims, source: "another tab" });
  }

  /** @param {string} reason */
  #end(reason) {
    clearTimeout(this.#timer);
    this.#tabs.release();
    const wasLoggedIn = this.#tokens !== null;
    this.#tokens = null;
    this.#claims = null;
    if (wasLoggedIn || reason === "logout") {
      this.#flow("logout", `Tokens dropped from memory (${reason})`);
      this.#emit("logout", { reason });
    }
  }

  #schedule() {
    clearTimeout(this.#timer);
    if (!this.#tokens) return;
    // Ahead of expiry by the leeway, so no request leaves with a token about to lapse on the way.
    const delay = Math.max(0, this.#tokens.expiresAt - LEEWAY_SECONDS * 1000 - Date.now());
    this.#timer = setTimeout(() => {
      this.#refresh("expiry", null).catch((error) => this.#fail(error));
    }, delay);
  }

  #retryLater() {
    clearTimeout(this.#timer);
    if (!this.#tokens) return;
    this.#timer = setTimeout(() => {
      this.#refresh("expiry", null).catch((error) => this.#fail(error));
    }, RETRY_MS);
  }

  /**
   * A POST that carries the provider's cookies and the anti-CSRF header.
   *
   * @param {string} url
   * @param {Record<string, string>} form
   * @returns {Promise<Response>}
   */
  #post(url, form) {
    return fetch(url, {
      method: "POST",
      credentials: "include",
      cache: "no-store",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Requested-With": REQUESTED_WITH },
      body: new URLSearchParams(form),
    });
  }

  /**
   * @param {unknown} error
   * @returns {unknown} the same error, to throw
   */
  #fail(error) {
    this.#emit("error", { error });
    return error;
  }

  /**
   * @param {string} type
   * @param {{ [name: string]: unknown }} detail
   */
  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /**
   * @param {FlowStep} step
   * @param {string} summary
   * @param {{ [name: string]: unknown }} [data]
   * @param {number} [at] when it happened, if not now
   */
  #flow(step, summary, data, at = Date.now()) {
    /** @type {FlowDetail} */
    const detail = { step, at, summary, ...(data ? { data } : {}) };
    this.dispatchEvent(new CustomEvent("flow", { detail }));
  }
}

/**
 * Whether an access token is within the leeway of its expiry (and so is refreshed before use).
 *
 * @param {{ expiresAt: number }} tokens
 * @param {number} now milliseconds since the epoch
 */
export function isDue(tokens, now) {
  return now >= tokens.expiresAt - LEEWAY_SECONDS * 1000;
}

/**
 * @param {string | null} header
 */
function saysInvalidToken(header) {
  return header !== null && /^\s*Bearer\b/i.test(header) && /\berror\s*=\s*"?invalid_token"?/i.test(header);
}

/**
 * @param {Request} request
 * @param {string} token
 */
function withBearer(request, token) {
  const headers = new Headers(request.headers);
  headers.set("Authorization", `Bearer ${token}`);
  return new Request(request, { headers });
}

/**
 * @param {Response} response
 * @returns {Promise<{ [name: string]: unknown }>}
 */
async function readJson(response) {
  try {
    const body = await response.json();
    return body !== null && typeof body === "object" && !Array.isArray(body) ? body : {};
  } catch {
    return {};
  }
}

/**
 * @param {unknown} value
 * @returns {string | undefined}
 */
function stringOr(value) {
  return typeof value === "string" ? value : undefined;
}
