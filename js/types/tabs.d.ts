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
    /**
     * @param {string} name identifies the app: issuer and client
     * @param {TabHandlers} handlers
     */
    constructor(name: string, handlers: TabHandlers);
    /**
     * Run `task` while no other tab (and no other call in this tab) runs one under the same name.
     *
     * @template T
     * @param {() => Promise<T>} task
     * @returns {Promise<T>}
     */
    exclusive<T>(task: () => Promise<T>): Promise<T>;
    /**
     * Hand tokens to the other tabs and advertise that this tab has them.
     *
     * @param {TokenSet} tokens
     */
    share(tokens: TokenSet): Promise<void>;
    /**
     * Advertise (with a shared lock named after their expiry) that this tab holds tokens.
     *
     * @param {number} expiresAt
     */
    hold(expiresAt: number): Promise<void>;
    /** Stop advertising tokens (they were dropped). */
    release(): void;
    /**
     * The latest expiry of tokens some tab holds, if later than `after`; null when there is none.
     *
     * @param {number} after
     * @returns {Promise<number | null>}
     */
    newestElsewhere(after: number): Promise<number | null>;
    /**
     * Ask the other tabs for tokens expiring no earlier than `atLeast`; null if none came in time.
     *
     * @param {number} atLeast
     * @param {number} timeoutMs
     * @returns {Promise<TokenSet | null>}
     */
    requestTokens(atLeast: number, timeoutMs: number): Promise<TokenSet | null>;
    /** Tell the other tabs this session is over. */
    announceLogout(): void;
    close(): void;
    #private;
}
export type TokenSet = {
    accessToken: string;
    idToken: string;
    scope: string;
    /**
     * when the access token expires, milliseconds since the epoch
     */
    expiresAt: number;
    /**
     * milliseconds since the epoch
     */
    receivedAt: number;
};
export type Message = {
    type: "tokens";
    tokens: TokenSet;
} | {
    type: "request";
} | {
    type: "logout";
};
export type TabHandlers = {
    /**
     * another tab has tokens (it logged in or refreshed)
     */
    onTokens: (tokens: TokenSet) => void;
    /**
     * another tab logged out
     */
    onLogout: () => void;
    /**
     * the tokens this tab can hand out, if they are fresh
     */
    fresh: () => TokenSet | null;
};
