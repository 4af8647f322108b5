const HEADERS = { "X-Requested-With": "passportoffice" };

async function call(method, path, body) {
  const options = { method, headers: { ...HEADERS }, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  document.getElementById("api-status").textContent = String(response.status);
  return response;
}

async function showNotes() {
  const response = await call("GET", "/api/notes");
  const list = document.getElementById("notes");
  list.replaceChildren();
  if (!response.ok) return;
  for (const text of (await response.json()).notes) {
    const item = document.createElement("li");
    item.textContent = text;
    list.append(item);
  }
}

async function start() {
  const user = await (await call("GET", "/bff/user")).json();
  document.getElementById("status").textContent = user.authenticated
    ? "Signed in as " + user.user.preferred_username
    : "Signed out";
  document.getElementById("sign-in").hidden = user.authenticated;
  document.getElementById("sign-out").hidden = !user.authenticated;
  if (user.authenticated) await showNotes();
}

document.getElementById("sign-in").onclick = () => { location.assign("/bff/login?return_to=/"); };
document.getElementById("sign-out").onclick = async () => {
  const result = await (await call("POST", "/bff/logout")).json();
  location.assign(result.logout_url || "/");
};
document.getElementById("add-note").onclick = async () => {
  await call("POST", "/api/notes", { text: document.getElementById("note-text").value });
  await showNotes();
};
window.parallelCalls = async (count) =>
  Promise.all(Array.from({ length: count }, () => call("GET", "/api/notes").then((r) => r.status)));
start();
