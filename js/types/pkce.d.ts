/**
 * A fresh random value: 32 bytes from the platform's CSPRNG, base64url (43 characters, within the
 * 43-128 range RFC 7636 §4.1 sets for a verifier).
 *
 * @returns {string}
 */
export function randomToken(): string;
/**
 * The S256 code challenge of a verifier: BASE64URL(SHA-256(ASCII(verifier))).
 *
 * @param {string} verifier
 * @returns {Promise<string>}
 */
export function s256(verifier: string): Promise<string>;
