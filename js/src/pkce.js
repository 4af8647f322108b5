// PKCE (RFC 7636 §4.1, §4.2: S256 only) and the random values of an authorization request.

import { base64UrlEncode } from "./jwt.js";

/**
 * A fresh random value: 32 bytes from the platform's CSPRNG, base64url (43 characters, within the
 * 43-128 range RFC 7636 §4.1 sets for a verifier).
 *
 * @returns {string}
 */
export function randomToken() {
  return base64UrlEncode(crypto.getRandomValues(new Uint8Array(32)));
}

/**
 * The S256 code challenge of a verifier: BASE64URL(SHA-256(ASCII(verifier))).
 *
 * @param {string} verifier
 * @returns {Promise<string>}
 */
export async function s256(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64UrlEncode(new Uint8Array(digest));
}
