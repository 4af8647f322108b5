// oidc-client-ts in its ordinary mode (tests/interop/test_oidc_client_ts.py): code flow with PKCE,
// the user (with its refresh token) kept in memory, then one refresh through the refresh_token grant.
import { InMemoryWebStorage, UserManager, WebStorageStateStore } from "oidc-client-ts";

const config = await (await fetch("/config.json")).json();
const manager = new UserManager({
  authority: config.issuer,
  client_id: config.clientId,
  redirect_uri: `${location.origin}/oidc_client_ts/callback.html`,
  response_type: "code",
  scope: "openid profile email offline_access",
  userStore: new WebStorageStateStore({ store: new InMemoryWebStorage() }),
  stateStore: new WebStorageStateStore({ store: window.sessionStorage }),
  automaticSilentRenew: false,
});

const show = (id, value) => {
  document.getElementById(id).textContent = typeof value === "string" ? value : JSON.stringify(value);
};

document.getElementById("login").addEventListener("click", () => {
  manager.signinRedirect().catch((error) => show("error", String(error)));
});
document.body.dataset.ready = "true"; // the module's top-level await is over: the button works

if (location.pathname === "/oidc_client_ts/callback.html") {
  try {
    const user = await manager.signinCallback();
    const renewed = await manager.signinSilent(); // a refresh token exists, so this is the refresh_token grant
    show("result", {
      sub: user.profile.sub,
      name: user.profile.name,
      scope: user.scope,
      tokenType: user.token_type,
      hadRefreshToken: typeof user.refresh_token === "string",
      renewedSub: renewed.profile.sub,
      accessTokenChanged: renewed.access_token !== user.access_token,
      refreshTokenRotated: typeof renewed.refresh_token === "string" && renewed.refresh_token !== user.refresh_token,
      storedKeys: { local: Object.keys(localStorage), session: Object.keys(sessionStorage) },
    });
  } catch (error) {
    show("error", String(error));
  }
}
