// Runs the SDK's pure functions (js/src) under Node for tests/sdk: argv[2] is a JSON list of calls,
// stdout a JSON list of results ({ok, value} or {ok: false, reason}).
import { checkIdToken, base64UrlEncode } from "../../js/src/jwt.js";
import { s256 } from "../../js/src/pkce.js";
import { isDue } from "../../js/src/auth.js";
import { saveTransaction, takeTransaction } from "../../js/src/transactions.js";

// The Web Storage interface over a Map, standing in for the tab's sessionStorage.
class MemoryStorage {
  #items = new Map();
  get length() { return this.#items.size; }
  key(index) { return [...this.#items.keys()][index] ?? null; }
  getItem(key) { return this.#items.has(key) ? this.#items.get(key) : null; }
  setItem(key, value) { this.#items.set(key, String(value)); }
  removeItem(key) { this.#items.delete(key); }
  keys() { return [...this.#items.keys()]; }
}

const part = (value) => base64UrlEncode(new TextEncoder().encode(JSON.stringify(value)));

const calls = {
  checkIdToken: ({ header, payload, signature = "c2lnbmF0dXJl", raw, expected }) => {
    const token = raw ?? `${part(header)}.${part(payload)}.${signature}`;
    return checkIdToken(token, expected);
  },
  s256: ({ verifier }) => s256(verifier),
  isDue: ({ expiresAt, now }) => isDue({ expiresAt }, now),
  // Runs a script of transaction steps against one storage; returns what each take found and what is left.
  transactions: ({ steps }) => {
    const storage = new MemoryStorage();
    const found = [];
    for (const step of steps) {
      if (step.save) {
        const { state, createdAt } = step.save;
        saveTransaction(storage, state, { verifier: `v-${state}`, nonce: `n-${state}`, redirectUri: "r", authorizeUrl: "a", createdAt });
      } else {
        found.push(takeTransaction(storage, step.take.state, step.take.now)?.verifier ?? null);
      }
    }
    return { found, left: storage.keys() };
  },
};

const results = [];
for (const { call, args } of JSON.parse(process.argv[2])) {
  try {
    results.push({ ok: true, value: await calls[call](args) });
  } catch (error) {
    results.push({ ok: false, reason: error.reason ?? String(error) });
  }
}
process.stdout.write(JSON.stringify(results));
