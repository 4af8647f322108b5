// The demo app: notes kept by the demo API, reached with an access token the SDK holds in memory.
// It imports the SDK from /sdk/auth.js, which the demo server serves straight from js/src.

import { createAuth } from "/sdk/auth.js";
import { BffAuth } from "./bff-auth.js";
import { el, Inspector } from "./inspector.js";

/**
 * @typedef {{ issuer: string, clientId: string, redirectUri: string, postLogoutRedirectUri: string,
 *   audience: string, api: string, scope: string, mode?: string }} Config
 * @typedef {{ id: string | number, text: string }} Note
 */

/** @type {Config} */
const config = await (await fetch("/config.json")).json();
// In BFF mode the BFF serving this page is the OAuth client: no token ever reaches this code.
const bffMode = config.mode === "bff";
const auth = bffMode
  ? new BffAuth()
  : createAuth({
      issuer: config.issuer,
      clientId: config.clientId,
      redirectUri: config.redirectUri,
      postLogoutRedirectUri: config.postLogoutRedirectUri,
      scope: config.scope,
      audience: config.audience,
    });
new Inspector(auth, config);
if (bffMode) {
  document.body.dataset.mode = "bff";
  const welcome = document.querySelector("#welcome p");
  if (welcome) {
    welcome.textContent =
      "This copy of the app runs behind a BFF: the server on this origin signs you in and keeps every token. " +
      "The browser holds one HttpOnly session cookie; the notes API is called through the BFF.";
  }
  const note = document.getElementById("identity-note");
  if (note) note.textContent = "Name from the BFF's /bff/user: the BFF verified the ID token; this page never saw it.";
}

/** @param {string} id */
function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing`);
  return element;
}

/** @param {unknown} error */
function showError(error) {
  const message = error instanceof Error ? error.message : String(error);
  byId("error").textContent = message;
  byId("error").hidden = false;
}

function render() {
  const user = auth.user;
  byId("status").textContent = user ? `Logged in as ${user.name ?? user.preferred_username ?? user.sub}` : "Not logged in";
  byId("login").hidden = user !== null;
  byId("logout").hidden = user === null;
  byId("identity-note").hidden = user === null;
  byId("notes-area").hidden = user === null;
  byId("welcome").hidden = user !== null;
  document.body.dataset.state = user ? "logged-in" : "logged-out";
}

async function loadNotes() {
  const response = await auth.fetch(`${config.api}/notes`);
  if (!response.ok) throw new Error(`the API answered ${response.status}`);
  const body = await response.json();
  /** @type {Note[]} */
  const notes = Array.isArray(body) ? body : body.notes ?? [];
  byId("notes").replaceChildren(
    ...notes.map((note) => {
      const remove = el("button", { type: "button", class: "link", "aria-label": `Delete ${note.text}` }, "Delete");
      remove.addEventListener("click", () => deleteNote(note.id).catch(showError));
      return el("li", { "data-note-id": String(note.id) }, el("span", { class: "note-text" }, note.text), remove);
    }),
  );
  byId("notes-empty").hidden = notes.length > 0;
}

/** @param {string} text */
async function addNote(text) {
  const response = await auth.fetch(`${config.api}/notes`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ text }),
  });
  if (!response.ok) throw new Error(`the API answered ${response.status}`);
  await loadNotes();
}

/** @param {string | number} id */
async function deleteNote(id) {
  const response = await auth.fetch(`${config.api}/notes/${encodeURIComponent(String(id))}`, { method: "DELETE" });
  if (!response.ok) throw new Error(`the API answered ${response.status}`);
  await loadNotes();
}

byId("login").addEventListener("click", () => auth.login().catch(showError));
byId("logout").addEventListener("click", () => auth.logout().catch(showError));
byId("note-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = /** @type {HTMLInputElement} */ (byId("note-text"));
  addNote(input.value)
    .then(() => {
      input.value = "";
    })
    .catch(showError);
});
auth.addEventListener("login", () => {
  render();
  loadNotes().catch(showError);
});
auth.addEventListener("logout", render);
auth.addEventListener("error", (event) => showError(/** @type {CustomEvent<{ error: unknown }>} */ (event).detail.error));

if (!(auth instanceof BffAuth) && location.pathname === "/callback") {
  try {
    const { returnTo } = await auth.handleCallback();
    history.replaceState(null, "", returnTo);
  } catch {
    history.replaceState(null, "", "/"); // the error event has shown why; nothing was kept
  }
} else {
  await auth.restore();
}
render();
document.body.dataset.ready = "true";
