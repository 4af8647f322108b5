// The flow inspector: every protocol step as it happens, the tokens decoded with where they live and
// when they expire, and what a script injected into this page could read. Built with textContent only.

import { decodeUnverified } from "/sdk/auth.js";

/**
 * @typedef {import("/sdk/auth.js").Auth | import("./bff-auth.js").BffAuth} Auth
 * @typedef {import("/sdk/auth.js").FlowDetail} FlowDetail
 * @typedef {{ issuer: string, clientId: string, mode?: string }} InspectorConfig
 */

const REFRESH_COOKIE_PREFIX = "__Host-passportoffice-refresh-";

/**
 * @param {string} tag
 * @param {{ [name: string]: string }} [attributes]
 * @param {(Node | string)[]} children
 * @returns {HTMLElement}
 */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

/** @param {number} at milliseconds since the epoch */
function clock(at) {
  return new Date(at).toLocaleTimeString("en-GB", { hour12: false });
}

/** @param {number} expiresAt milliseconds since the epoch */
function remaining(expiresAt) {
  const seconds = Math.round((expiresAt - Date.now()) / 1000);
  return seconds >= 0 ? `in ${seconds} s` : `${-seconds} s ago`;
}

export class Inspector {
  /** @type {Auth} */
  #auth;
  /** @type {InspectorConfig} */
  #config;

  /**
   * @param {Auth} auth
   * @param {InspectorConfig} config
   */
  constructor(auth, config) {
    this.#auth = auth;
    this.#config = config;
    auth.addEventListener("flow", (event) => this.#step(/** @type {CustomEvent<FlowDetail>} */ (event).detail));
    for (const type of ["login", "refresh", "logout"]) auth.addEventListener(type, () => this.render());
    setInterval(() => this.render(), 1000);
    this.render();
  }

  render() {
    this.#renderTokens();
    void this.#renderXss();
  }

  /** @param {FlowDetail} detail */
  #step(detail) {
    const item = el("li", { "data-step": detail.step }, el("time", {}, clock(detail.at)), el("span", { class: "step" }, detail.summary));
    for (const [name, value] of Object.entries(detail.data ?? {})) {
      if (value === null || value === undefined) continue;
      const shown = name.endsWith("At") && typeof value === "number" ? clock(value) : String(value);
      item.append(el("div", { class: "data" }, `${name}: ${shown}`));
    }
    if (detail.step === "token" || (detail.step === "refresh" && detail.data?.refreshCookie)) {
      const visible = document.cookie.split(";").some((part) => part.trim().startsWith(REFRESH_COOKIE_PREFIX));
      item.append(
        el(
          "div",
          { class: "data" },
          visible
            ? "document.cookie SHOWS a refresh cookie: it is not HttpOnly!"
            : `refresh cookie ${REFRESH_COOKIE_PREFIX}${this.#config.clientId}: HttpOnly, not in document.cookie`,
        ),
      );
    }
    document.getElementById("flow")?.append(item);
  }

  #renderTokens() {
    const target = document.getElementById("tokens");
    if (!target) return;
    if (this.#config.mode === "bff") {
      target.replaceChildren(bffTokens(this.#auth.user !== null));
      return;
    }
    const session = this.#auth.session;
    if (!session) {
      target.replaceChildren(el("p", { class: "hint" }, "No tokens in this tab."));
      return;
    }
    const issuerHost = new URL(this.#config.issuer).host;
    target.replaceChildren(
      this.#token("Access token", session.accessToken, "memory of this tab (a private field of the SDK); sent to the API as Authorization: Bearer", session.expiresAt, "access-token"),
      this.#token("ID token", session.idToken, "memory of this tab; for the UI only: decoded for display, not verified", null, "id-token"),
      el(
        "div",
        { class: "token", id: "refresh-token" },
        el("header", {}, el("span", {}, "Refresh token"), el("span", {}, "opaque")),
        el(
          "div",
          { class: "where" },
          `an HttpOnly, Secure, SameSite=Strict cookie ${REFRESH_COOKIE_PREFIX}${this.#config.clientId} for ${issuerHost}: ` +
            "the browser sends it to the provider's /token/refresh; no script can read it. Rotated on every refresh.",
        ),
      ),
    );
  }

  /**
   * @param {string} title
   * @param {string} jwt
   * @param {string} where
   * @param {number | null} expiresAt
   * @param {string} id
   */
  #token(title, jwt, where, expiresAt, id) {
    const { header, payload } = decodeUnverified(jwt);
    const exp = typeof payload.exp === "number" ? payload.exp * 1000 : expiresAt;
    return el(
      "div",
      { class: "token", id },
      el("header", {}, el("span", {}, title), el("span", { class: "expires" }, exp ? `expires ${clock(exp)} (${remaining(exp)})` : "")),
      el("div", { class: "where" }, `lives in: ${where}`),
      el("pre", { class: "jwt-header" }, JSON.stringify(header, null, 2)),
      el("pre", { class: "jwt-payload" }, JSON.stringify(payload, null, 2)),
    );
  }

  async #renderXss() {
    const target = document.getElementById("xss");
    if (!target) return;
    const session = this.#auth.session;
    const secrets = session ? [session.accessToken, session.idToken] : [];
    /** @param {string} text */
    const leaks = (text) => secrets.some((secret) => text.includes(secret));
    const rows = [
      storageRow("localStorage", localStorage, leaks),
      storageRow("sessionStorage", sessionStorage, leaks),
      await indexedDbRow(),
      cookieRow(leaks),
      memoryRow(this.#config.mode === "bff", session),
    ];
    target.replaceChildren(
      ...rows.flatMap(([name, text, verdict]) => [el("dt", {}, name), el("dd", { class: verdict, "data-check": name }, text)]),
    );
  }
}

/**
 * @param {string} name
 * @param {Storage} storage
 * @param {(text: string) => boolean} leaks
 * @returns {[string, string, string]}
 */
function storageRow(name, storage, leaks) {
  const keys = [];
  let leaked = false;
  for (let index = 0; index < storage.length; index += 1) {
    const key = storage.key(index);
    if (key === null) continue;
    keys.push(key.startsWith("passportoffice.login.") ? `${key.slice(0, 28)}… (login in flight: PKCE verifier, nonce)` : key);
    leaked ||= leaks(storage.getItem(key) ?? "");
  }
  if (leaked) return [name, `A TOKEN IS STORED HERE: ${keys.join(", ")}`, "exposed"];
  return [name, keys.length ? `no tokens (${keys.join(", ")})` : "nothing", "safe"];
}

/** @returns {Promise<[string, string, string]>} */
async function indexedDbRow() {
  const databases = typeof indexedDB.databases === "function" ? await indexedDB.databases() : [];
  const names = databases.map((database) => database.name ?? "?");
  return ["IndexedDB", names.length ? `databases: ${names.join(", ")} (none of ours)` : "nothing", "safe"];
}

/**
 * @param {(text: string) => boolean} leaks
 * @returns {[string, string, string]}
 */
function cookieRow(leaks) {
  const cookies = document.cookie;
  const names = cookies ? cookies.split(";").map((part) => part.split("=")[0]?.trim() ?? "") : [];
  if (names.some((name) => name.startsWith(REFRESH_COOKIE_PREFIX)) || leaks(cookies)) {
    return ["document.cookie", `A TOKEN IS READABLE: ${names.join(", ")}`, "exposed"];
  }
  return ["document.cookie", names.length ? `no refresh token (${names.join(", ")})` : "no refresh token (empty)", "safe"];
}

/**
 * What the browser holds in BFF mode: one session cookie, and no token.
 * @param {boolean} loggedIn
 * @returns {HTMLElement}
 */
function bffTokens(loggedIn) {
  const where = loggedIn
    ? "This browser holds only the session cookie __Host-passportoffice-bff (HttpOnly, Secure, " +
      "SameSite=Strict): an opaque id, not a token, and no script can read it (document.cookie does not show it)."
    : "Not logged in: this browser holds no session cookie and no token.";
  return el(
    "div",
    { class: "token", id: "bff-session" },
    el("header", {}, el("span", {}, "BFF mode"), el("span", {}, "no tokens here")),
    el("div", { class: "where", id: "bff-cookie" }, where),
    el(
      "div",
      { class: "where" },
      "The access, refresh and ID tokens live on the BFF's server (encrypted at rest). It adds the access token " +
        "to each API call it forwards, and refreshes it before it expires.",
    ),
  );
}

/**
 * @param {boolean} bff
 * @param {{ expiresAt: number } | null} session
 * @returns {[string, string, string]}
 */
function memoryRow(bff, session) {
  if (bff) return ["memory", "no tokens: the BFF on this origin holds them server-side; this page never receives one", "safe"];
  if (!session) return ["memory", "no tokens", "safe"];
  return [
    "memory",
    `the access token (expires ${remaining(session.expiresAt)}): a script on this page can take it, e.g. by wrapping fetch. Short-lived, and the refresh token is not here.`,
    "limited",
  ];
}
