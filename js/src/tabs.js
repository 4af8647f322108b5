// The tabs of one app share one refresh cookie, so they must share its use: one refresh at a time
// (Web Locks), and the tokens it brought handed to the other tabs (BroadcastChannel), so N tabs make one
// refresh call and never race a rotation.
//
// A message alone cannot tell a tab that was waiting for the lock whether it may skip its own refresh:
// the lock can be granted before the message arrives, since the two travel separately. So every tab
// that holds fresh tokens also holds a shared lock whose name carries their expiry. The lock manager's
// view is consistent: a tab that gets the refresh lock and sees `has:<later expiry>` held knows those
// tokens exist in some tab, and asks for them instead of spending the cookie again.
//
// Both APIs are same-origin only and keep everything in memory; where they are missing (an insecure
// context, an old browser) each tab refreshes on its own, still single-flight within the tab.

/**
 * @typedef {object} TokenSet
 * @property {string} accessToken
 * @property {string} idToken
 * @property {string} scope
 * @property {number} expiresAt when the access token expires, milliseconds since the epoch
 * @property {number} receivedAt milliseconds since the epoch
 *
 * @typedef {{ type: "tokens", tokens: TokenSet } | { type: "request" } | { type: "logout" }} Message
 *
 * @typedef {object} TabHandlers
 * @property {(tokens: TokenSet) => void} onTokens another tab has tokens (it logged in or refreshed)
 * @property {() => void} onLogout another tab logged out
 * @property {() => TokenSet | null} fresh the tokens this tab can hand out, if they are fresh
 */

export class Tabs {
  /** @type {BroadcastChannel | null} */
  #channel = null;
  /** @type {LockManager | null} */
  #locks = null;
  /** @type {string} */
  #name;
  /** @type {TabHandlers} */
  #handlers;
  /** @type {(() => void) | null} */
  #releaseHeld = null;
  /** @type {Promise<void> | null} */
  #localQueue = null;
  /** @type {Set<(tokens: TokenSet) => void>} */
  #listeners = new Set();

  /**
   * @param {string} name identifies the app: issuer and client
   * @param {TabHandlers} handlers
   */
  constructor(name, handlers) {
    this.#name = name;
    this.#handlers = handlers;
    if (typeof navigator !== "undefined" && navigator.locks) this.#locks = navigator.locks;
    if (typeof BroadcastChannel !== "undefined") {
      this.#channel = new BroadcastChannel(name);
      this.#channel.onmessage = (event) => this.#receive(event.data);
    }
  }

  /**
   * Run `task` while no other tab (and no other call in this tab) runs one under the same name.
   *
   * @template T
   * @param {() => Promise<T>} task
   * @returns {Promise<T>}
   */
  exclusive(task) {
    if (this.#locks) return /** @type {Promise<T>} */ (this.#locks.request(`${this.#name}:refresh`, task));
    const previous = this.#localQueue ?? Promise.resolve();
    const run = previous.then(task);
    this.#localQueue = run.then(() => undefined, () => undefined);
    return run;
  }

  /**
   * Hand tokens to the other tabs and advertise that this tab has them.
   *
   * @param {TokenSet} tokens
   */
  async share(tokens) {
    await this.hold(tokens.expiresAt);
    this.#post({ type: "tokens", tokens });
  }

  /**
   * Advertise (with a shared lock named after their expiry) that this tab holds tokens.
   *
   * @param {number} expiresAt
   */
  async hold(expiresAt) {
    const previous = this.#releaseHeld;
    this.#releaseHeld = null;
    if (this.#locks) {
      /** @type {() => void} */
      let release = () => {};
      const held = new Promise((resolve) => {
        this.#locks?.request(`${this.#name}:has:${expiresAt}`, { mode: "shared" }, () => {
          resolve(undefined);
          return new Promise((done) => {
            release = () => done(undefined);
          });
        });
      });
      await held; // granted before the refresh lock is released: the next holder will see it
      this.#releaseHeld = () => release();
    }
    if (previous) previous();
  }

  /** Stop advertising tokens (they were dropped). */
  release() {
    if (this.#releaseHeld) this.#releaseHeld();
    this.#releaseHeld = null;
  }

  /**
   * The latest expiry of tokens some tab holds, if later than `after`; null when there is none.
   *
   * @param {number} after
   * @returns {Promise<number | null>}
   */
  async newestElsewhere(after) {
    if (!this.#locks || !this.#channel) return null;
    const prefix = `${this.#name}:has:`;
    const { held = [] } = await this.#locks.query();
    let newest = null;
    for (const lock of held) {
      if (!lock.name?.startsWith(prefix)) continue;
      const expiresAt = Number(lock.name.slice(prefix.length));
      if (expiresAt > after && (newest === null || expiresAt > newest)) newest = expiresAt;
    }
    return newest;
  }

  /**
   * Ask the other tabs for tokens expiring no earlier than `atLeast`; null if none came in time.
   *
   * @param {number} atLeast
   * @param {number} timeoutMs
   * @returns {Promise<TokenSet | null>}
   */
  requestTokens(atLeast, timeoutMs) {
    return new Promise((resolve) => {
      /** @param {TokenSet | null} tokens */
      const finish = (tokens) => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
        resolve(tokens);
      };
      /** @param {TokenSet} tokens */
      const listener = (tokens) => {
        if (tokens.expiresAt >= atLeast) finish(tokens);
      };
      const timer = setTimeout(() => finish(null), timeoutMs);
      this.#listeners.add(listener);
      this.#post({ type: "request" });
    });
  }

  /** Tell the other tabs this session is over. */
  announceLogout() {
    this.#post({ type: "logout" });
  }

  close() {
    this.release();
    this.#channel?.close();
    this.#channel = null;
  }

  /** @param {Message} message */
  #post(message) {
    this.#channel?.postMessage(message);
  }

  /** @param {Message} message */
  #receive(message) {
    if (message?.type === "tokens") {
      this.#handlers.onTokens(message.tokens);
      for (const listener of [...this.#listeners]) listener(message.tokens);
    } else if (message?.type === "request") {
      const tokens = this.#handlers.fresh();
      if (tokens) this.#post({ type: "tokens", tokens });
    } else if (message?.type === "logout") {
      this.#handlers.onLogout();
    }
  }
}
