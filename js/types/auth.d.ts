/**
 * @param {AuthOptions} options
 * @returns {Auth}
 */
export function createAuth(options: AuthOptions): Auth;
/**
 * Whether an access token is within the leeway of its expiry (and so is refreshed before use).
 *
 * @param {{ expiresAt: number }} tokens
 * @param {number} now milliseconds since the epoch
 */
export function isDue(tokens: {
    expiresAt: number;
}, now: number): boolean;
/** The custom header every cookie-carrying request sends: it forces a CORS preflight (CSRF, K37). */
export const REQUESTED_WITH: "passportoffice";
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
    constructor(code: string, description?: string);
    code: string;
}
/**
 * The session of one app in one tab. Events: `login`, `refresh`, `logout`, `error` (and `flow`, every
 * protocol step, for the demo's inspector), each a CustomEvent.
 */
export class Auth extends EventTarget {
    /** @param {AuthOptions} options */
    constructor(options: AuthOptions);
    /**
     * The ID token's claims, for display: DECODED, NOT VERIFIED. The SDK checked them (issuer, audience,
     * nonce, expiry) when the token arrived from the token endpoint, but a claim shown here is never a
     * reason to allow anything: APIs decide from the access token, which they verify.
     *
     * @returns {IdTokenClaims | null}
     */
    get user(): IdTokenClaims | null;
    /** @returns {Session | null} what this tab holds in memory (for the inspector; treat as secret) */
    get session(): Session | null;
    /**
     * Start a login: store a new transaction and send the browser to the authorization endpoint.
     *
     * @param {{ returnTo?: string }} [options]
     * @returns {Promise<void>}
     */
    login(options?: {
        returnTo?: string;
    }): Promise<void>;
    /**
     * A new authorization request URL; its transaction (keyed by its state) waits for the callback.
     *
     * @param {{ returnTo?: string }} [options]
     * @returns {Promise<string>}
     */
    authorizationUrl(options?: {
        returnTo?: string;
    }): Promise<string>;
    /**
     * Finish a login at the redirect URI: check `state`, then `iss` (RFC 9207), then exchange the code
     * and check the ID token. Nothing is kept unless every check passes; the state is used up either way.
     *
     * @param {string} [url] the callback URL; default the current location (then it is cleaned from history)
     * @returns {Promise<{ returnTo: string }>}
     */
    handleCallback(url?: string): Promise<{
        returnTo: string;
    }>;
    /**
     * On page load: get fresh tokens through the refresh cookie (or from another open tab).
     *
     * @returns {Promise<boolean>} whether the user is logged in
     */
    restore(): Promise<boolean>;
    /**
     * The current access token, refreshed first when it is about to expire; null when logged out.
     *
     * @returns {Promise<string | null>}
     */
    getAccessToken(): Promise<string | null>;
    /**
     * `fetch` with `Authorization: Bearer`. After a 401 whose WWW-Authenticate says `invalid_token` it
     * refreshes once and retries once (the API needs `Access-Control-Expose-Headers: WWW-Authenticate`).
     *
     * @param {RequestInfo | URL} input
     * @param {RequestInit} [init]
     * @returns {Promise<Response>}
     */
    fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
    /**
     * Log out everywhere: drop the tokens in this and every other tab, then navigate to the provider's
     * end-session endpoint, which revokes the refresh cookie's family and clears the cookie.
     *
     * @returns {Promise<void>}
     */
    logout(): Promise<void>;
    /** Stop timers and leave the tab group (tests, hot reload). */
    close(): void;
    #private;
}
export type TokenSet = import("./tabs.js").TokenSet;
export type IdTokenClaims = import("./jwt.js").IdTokenClaims;
export type AuthOptions = {
    /**
     * the provider's issuer identifier, exactly as in its discovery document
     */
    issuer: string;
    /**
     * a public client registered with `--refresh-cookie`
     */
    clientId: string;
    /**
     * exactly as registered
     */
    redirectUri: string;
    /**
     * default "openid profile"
     */
    scope?: string;
    /**
     * the API the access token is for (RFC 8707 `resource`)
     */
    audience?: string;
    /**
     * where the provider sends the browser after logout
     */
    postLogoutRedirectUri?: string;
};
export type ProviderMetadata = {
    issuer: string;
    authorization_endpoint: string;
    token_endpoint: string;
    end_session_endpoint?: string;
    passportoffice_refresh_cookie_endpoint?: string;
    authorization_response_iss_parameter_supported?: boolean;
    code_challenge_methods_supported?: string[];
};
/**
 * a snapshot of what this tab holds in memory
 */
export type Session = {
    accessToken: string;
    idToken: string;
    scope: string;
    /**
     * when the access token expires, milliseconds since the epoch
     */
    expiresAt: number;
    receivedAt: number;
};
export type FlowStep = "discovery" | "authorize" | "callback" | "token" | "refresh" | "shared" | "logout";
/**
 * what the flow inspector shows: one step of the protocol, no secrets
 */
export type FlowDetail = {
    step: FlowStep;
    /**
     * milliseconds since the epoch
     */
    at: number;
    summary: string;
    data?: {
        [name: string]: unknown;
    };
};
import { decodeUnverified } from "./jwt.js";
import { IdTokenError } from "./jwt.js";
import { LEEWAY_SECONDS } from "./jwt.js";
export { decodeUnverified, IdTokenError, LEEWAY_SECONDS };
