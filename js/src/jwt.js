// ID token checks (OpenID Connect Core 1.0 §3.1.3.7, §12.2) and unverified decoding. Pure: no I/O.
//
// The SDK does not verify the ID token's signature. OIDC Core §3.1.3.7 item 6 allows this for a token
// received straight from the token endpoint over TLS, which is the only way this SDK receives one.
// The claims are for the UI; APIs never accept an ID token (they require `typ: at+jwt`).

/** Seconds of clock skew allowed in every time comparison the SDK makes (K22). */
export const LEEWAY_SECONDS = 30;

// Asymmetric algorithms only: `none` is never acceptable (K17), and an HMAC-signed ID token could only
// have been made with a client secret, which a browser client does not have.
const ALLOWED_ALGORITHMS = new Set([
  "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
]);

// An ID token is a few kilobytes; a huge one is refused before any decoding.
const MAX_JWT_LENGTH = 16 * 1024;

/**
 * @typedef {{ [name: string]: unknown }} JsonObject
 *
 * @typedef {object} IdTokenClaims
 * @property {string} iss
 * @property {string} sub
 * @property {string | string[]} aud
 * @property {number} exp
 * @property {number} iat
 * @property {string} [nonce]
 * @property {string} [azp]
 * @property {string} [name]
 * @property {string} [preferred_username]
 * @property {string} [email]
 * @property {unknown} [claim] any other claim
 *
 * @typedef {object} IdTokenExpectations
 * @property {string} issuer exact `iss` (K19: string equality, never a substring or prefix)
 * @property {string} clientId must be in `aud`; with several audiences also `azp` (K23)
 * @property {number} now current time, seconds since the epoch
 * @property {string} [nonce] the nonce sent in this login's authorization request
 * @property {string} [subject] the `sub` of the session being refreshed (§12.2: it must not change)
 */

/** Why an ID token (or a callback) was refused; `reason` is a short stable code. */
export class IdTokenError extends Error {
  /** @param {string} reason */
  constructor(reason) {
    super(`ID token rejected: ${reason}`);
    this.name = "IdTokenError";
    this.reason = reason;
  }
}

/**
 * Decode a JWT's header and payload WITHOUT verifying its signature. What it returns is a claim made
 * by whoever produced the string, fit for display and for the checks below, never for a decision an
 * attacker could profit from.
 *
 * @param {string} jwt
 * @returns {{ header: JsonObject, payload: JsonObject }}
 */
export function decodeUnverified(jwt) {
  if (typeof jwt !== "string" || jwt.length > MAX_JWT_LENGTH) throw new IdTokenError("malformed");
  const parts = jwt.split(".");
  if (parts.length !== 3) throw new IdTokenError("malformed");
  return { header: jsonPart(parts[0]), payload: jsonPart(parts[1]) };
}

/**
 * Check an ID token's header and claims before any token of the response is kept.
 *
 * @param {string} idToken
 * @param {IdTokenExpectations} expected
 * @returns {IdTokenClaims} the claims, decoded (not verified)
 */
export function checkIdToken(idToken, expected) {
  const { header, payload } = decodeUnverified(idToken);
  const alg = header.alg;
  if (typeof alg !== "string" || !ALLOWED_ALGORITHMS.has(alg) || idToken.endsWith(".")) {
    throw new IdTokenError("alg"); // K17: `none`, or an empty signature
  }
  if (payload.iss !== expected.issuer) throw new IdTokenError("iss");
  checkAudience(payload, expected.clientId);
  const { now } = expected;
  const exp = numeric(payload.exp, "exp");
  const iat = numeric(payload.iat, "iat");
  if (now - LEEWAY_SECONDS >= exp) throw new IdTokenError("exp");
  if (iat > now + LEEWAY_SECONDS) throw new IdTokenError("iat");
  if (payload.nbf !== undefined && numeric(payload.nbf, "nbf") > now + LEEWAY_SECONDS) {
    throw new IdTokenError("nbf");
  }
  if (typeof payload.sub !== "string" || payload.sub === "") throw new IdTokenError("sub");
  if (expected.subject !== undefined && payload.sub !== expected.subject) throw new IdTokenError("sub");
  if (expected.nonce !== undefined && payload.nonce !== expected.nonce) throw new IdTokenError("nonce");
  return /** @type {IdTokenClaims} */ (/** @type {unknown} */ (payload));
}

/**
 * @param {JsonObject} payload
 * @param {string} clientId
 */
function checkAudience(payload, clientId) {
  const { aud, azp } = payload;
  if (typeof aud === "string") {
    if (aud !== clientId) throw new IdTokenError("aud");
  } else if (Array.isArray(aud) && aud.length > 0 && aud.every((each) => typeof each === "string")) {
    if (!aud.includes(clientId)) throw new IdTokenError("aud");
    // K23: with more than one audience the token must say which party it was issued to.
    if (aud.length > 1 && azp !== clientId) throw new IdTokenError("azp");
  } else {
    throw new IdTokenError("aud");
  }
  if (azp !== undefined && azp !== clientId) throw new IdTokenError("azp");
}

/**
 * @param {unknown} value
 * @param {string} name
 * @returns {number}
 */
function numeric(value, name) {
  if (typeof value !== "number" || !Number.isFinite(value)) throw new IdTokenError(name);
  return value;
}

/**
 * @param {string} part
 * @returns {JsonObject}
 */
function jsonPart(part) {
  let value;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(base64UrlDecode(part)));
  } catch {
    throw new IdTokenError("malformed");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new IdTokenError("malformed");
  return value;
}

/**
 * @param {string} text
 * @returns {Uint8Array}
 */
export function base64UrlDecode(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new IdTokenError("malformed");
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  const binary = atob(base64);
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

/**
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function base64UrlEncode(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
