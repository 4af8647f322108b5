/**
 * @typedef {object} Transaction
 * @property {string} verifier PKCE code verifier
 * @property {string} nonce
 * @property {string} redirectUri
 * @property {string} authorizeUrl the authorization request as sent (for the flow inspector)
 * @property {number} createdAt milliseconds since the epoch
 * @property {string} [returnTo] where the app wants to go after the login
 */
/**
 * @param {Storage} storage
 * @param {string} state
 * @param {Transaction} transaction
 */
export function saveTransaction(storage: Storage, state: string, transaction: Transaction): void;
/**
 * Remove and return the transaction of `state`: null when unknown, already used or expired.
 *
 * @param {Storage} storage
 * @param {string} state
 * @param {number} now milliseconds since the epoch
 * @returns {Transaction | null}
 */
export function takeTransaction(storage: Storage, state: string, now: number): Transaction | null;
export type Transaction = {
    /**
     * PKCE code verifier
     */
    verifier: string;
    nonce: string;
    redirectUri: string;
    /**
     * the authorization request as sent (for the flow inspector)
     */
    authorizeUrl: string;
    /**
     * milliseconds since the epoch
     */
    createdAt: number;
    /**
     * where the app wants to go after the login
     */
    returnTo?: string;
};
