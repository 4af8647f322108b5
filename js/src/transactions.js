// Pending logins across the redirect to the provider and back, keyed by their `state` (K14).
//
// Where they live: sessionStorage, because memory does not survive the navigation and the verifier
// must. sessionStorage is per tab and per origin and is gone when the tab closes. What is kept is the
// PKCE verifier and the nonce of a login in flight, never a token: the verifier is worth something only
// together with the code, which goes to this same origin's redirect URI and can be redeemed once. Each
// entry is removed the moment its callback arrives (before the code exchange, so a replayed callback
// finds nothing) and entries older than the provider's authorization window are swept.

const PREFIX = "passportoffice.login.";

// Older than this the provider's authorization request has expired anyway (its default is 10 min).
const MAX_AGE_MS = 15 * 60 * 1000;

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
export function saveTransaction(storage, state, transaction) {
  sweep(storage, transaction.createdAt);
  storage.setItem(PREFIX + state, JSON.stringify(transaction));
}

/**
 * Remove and return the transaction of `state`: null when unknown, already used or expired.
 *
 * @param {Storage} storage
 * @param {string} state
 * @param {number} now milliseconds since the epoch
 * @returns {Transaction | null}
 */
export function takeTransaction(storage, state, now) {
  const key = PREFIX + state;
  const text = storage.getItem(key);
  storage.removeItem(key);
  if (text === null) return null;
  /** @type {Transaction} */
  let transaction;
  try {
    transaction = JSON.parse(text);
  } catch {
    return null;
  }
  return now - transaction.createdAt > MAX_AGE_MS ? null : transaction;
}

/**
 * @param {Storage} storage
 * @param {number} now
 */
function sweep(storage, now) {
  for (let index = storage.length - 1; index >= 0; index -= 1) {
    const key = storage.key(index);
    if (key === null || !key.startsWith(PREFIX)) continue;
    try {
      if (now - JSON.parse(storage.getItem(key) ?? "{}").createdAt <= MAX_AGE_MS) continue;
    } catch {
      // unreadable: removed below
    }
    storage.removeItem(key);
  }
}
