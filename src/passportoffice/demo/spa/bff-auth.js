// The demo app's sign-in in BFF mode: the same surface app.js uses from the SDK (user, session, login,
// logout, fetch, restore), but no token ever comes to this page. The BFF on this origin is the OAuth
// client: it holds the tokens server-side and gives the browser one HttpOnly session cookie. Every call
// carries the custom header the BFF requires (its CSRF defence), and goes to this origin only.

export const REQUESTED_WITH = "passportoffice";
export const SESSION_COOKIE = "__Host-passportoffice-bff";

/**
 * @typedef {{ sub: string, name?: string, preferred_username?: string, email?: string }} BffUser
 */

export class BffAuth extends EventTarget {
  /** @type {BffUser | null} */
  #user = null;

  /** @returns {BffUser | null} */
  get user() {
    return this.#user;
  }

  /** Always null: this browser holds no token, only the session cookie. @returns {null} */
  get session() {
    return null;
  }

  /** On page load: ask the BFF whether this browser's session cookie names a live session. */
  async restore() {
    const response = await this.fetch("/bff/user");
    /** @type {{ authenticated: boolean, user?: BffUser }} */
    const body = await response.json();
    this.#flow("restore", "GET /bff/user: the BFF looked up the session cookie", {
      authenticated: body.authenticated,
      tokensInThisPage: "none",
    });
    if (body.authenticated && body.user) {
      this.#user = body.user;
      this.dispatchEvent(new CustomEvent("login"));
    }
  }

  /** A navigation: the BFF starts the code flow (PKCE, nonce, state) and keeps everything it gets. */
  async login() {
    this.#flow("authorize", "navigating to /bff/login: the BFF redirects to the provider");
    location.assign("/bff/login?return_to=/");
  }

  /** The BFF revokes the refresh token and ends the session, then the provider's own logout. */
  async logout() {
    const response = await this.fetch("/bff/logout", { method: "POST" });
    /** @type {{ logout_url?: string | null }} */
    const body = await response.json();
    this.#user = null;
    this.#flow("logout", "POST /bff/logout: refresh token revoked, session ended; now the provider's logout");
    this.dispatchEvent(new CustomEvent("logout"));
    location.assign(body.logout_url ?? "/");
  }

  /**
   * A call to this origin with the custom header; the BFF attaches the access token on its side.
   * @param {string} url
   * @param {RequestInit} [init]
   */
  async fetch(url, init = {}) {
    const headers = new Headers(init.headers);
    headers.set("X-Requested-With", REQUESTED_WITH);
    const response = await fetch(url, { ...init, headers, credentials: "same-origin" });
    if (url.startsWith("/api/")) {
      this.#flow("api", `${init.method ?? "GET"} ${url} through the BFF: HTTP ${response.status}`, {
        authorization: "added by the BFF, never seen here",
      });
    }
    if (response.status === 401 && this.#user !== null) {
      this.#user = null; // the session ended (logout elsewhere, back-channel logout, expiry)
      this.dispatchEvent(new CustomEvent("logout"));
    }
    return response;
  }

  /**
   * @param {string} step
   * @param {string} summary
   * @param {Record<string, unknown>} [data]
   */
  #flow(step, summary, data) {
    this.dispatchEvent(new CustomEvent("flow", { detail: { step, at: Date.now(), summary, data } }));
  }
}
