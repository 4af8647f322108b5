// Runs the SDK's pure functions (js/src) under Node for tests/sdk: argv[2] is a JSON list of calls,
// stdout a JSON list of results ({ok, value} or {ok: false, reason}).
import { checkIdToken, base64UrlEncode } from "../../js/src/jwt.js";
import { s256 } from "../../js/src/pkce.js";
import { isDue } from "../../js/src/auth.js";

const part = (value) => base64UrlEncode(new TextEncoder().encode(JSON.stringify(value)));

const calls = {
  checkIdToken: ({ header, payload, signature = "c2lnbmF0dXJl", raw, expected }) => {
    const token = raw ?? `${part(header)}.${part(payload)}.${signature}`;
    return checkIdToken(token, expected);
  },
  s256: ({ verifier }) => s256(verifier),
  isDue: ({ expiresAt, now }) => isDue({ expiresAt }, now),
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
