/**
 * Decode a JWT's header and payload WITHOUT verifying its signature. What it returns is a claim made
 * by whoever produced the string, fit for display and for the checks below, never for a decision an
 * attacker could profit from.
 *
 * @param {string} jwt
 * @returns {{ header: JsonObject, payload: JsonObject }}
 */
export function decodeUnverified(jwt: string): {
    header: JsonObject;
    payload: JsonObject;
};
/**
 * Check an ID token's header and claims before any token of the response is kept.
 *
 * @param {string} idToken
 * @param {IdTokenExpectations} expected
 * @returns {IdTokenClaims} the claims, decoded (not verified)
 */
export function checkIdToken(idToken: string, expected: IdTokenExpectations): IdTokenClaims;
/**
 * @param {string} text
 * @returns {Uint8Array}
 */
export function base64UrlDecode(text: string): Uint8Array;
/**
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function base64UrlEncode(bytes: Uint8Array): string;
/** Seconds of clock skew allowed in every time comparison the SDK makes (K22). */
export const LEEWAY_SECONDS: 30;
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
    constructor(reason: string);
    reason: string;
}
export type JsonObject = {
    [name: string]: unknown;
};
export type IdTokenClaims = {
    iss: string;
    sub: string;
    aud: string | string[];
    exp: number;
    iat: number;
    nonce?: string;
    azp?: string;
    name?: string;
    preferred_username?: string;
    email?: string;
    /**
     * any other claim
     */
    claim?: unknown;
};
export type IdTokenExpectations = {
    /**
     * exact `iss` (K19: string equality, never a substring or prefix)
     */
    issuer: string;
    /**
     * must be in `aud`; with several audiences also `azp` (K23)
     */
    clientId: string;
    /**
     * current time, seconds since the epoch
     */
    now: number;
    /**
     * the nonce sent in this login's authorization request
     */
    nonce?: string;
    /**
     * the `sub` of the session being refreshed (§12.2: it must not change)
     */
    subject?: string;
};
