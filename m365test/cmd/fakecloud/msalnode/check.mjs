// check.mjs drives the m365test fake cloud (go run ./m365test/cmd/fakecloud)
// with @azure/msal-node, a client nobody here wrote: client credentials,
// authorization code with PKCE, a silent refresh, and three error
// responses. Every step must behave as against Entra ID; the script exits
// non-zero at the first that does not.
//
// Environment: FAKE_HOST (host:port of the fake's TLS listener), TENANT_ID,
// CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, and NODE_EXTRA_CA_CERTS naming the
// fake's CA certificate (PEM) so Node trusts the listener.
import * as msal from "@azure/msal-node";

const env = (k) => {
  const v = process.env[k];
  if (!v) {
    console.error(`check.mjs: ${k} is not set`);
    process.exit(2);
  }
  return v;
};
const host = env("FAKE_HOST");
const tenant = env("TENANT_ID");
const clientId = env("CLIENT_ID");
const secret = env("CLIENT_SECRET");
const redirectUri = env("REDIRECT_URI");
const graphDefault = ["https://graph.microsoft.com/.default"];

let failures = 0;
async function step(name, fn) {
  try {
    const detail = await fn();
    console.log(`ok   ${name}${detail ? ": " + detail : ""}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

function claims(jwt) {
  const part = jwt.split(".")[1];
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
}

function client(clientSecret) {
  return new msal.ConfidentialClientApplication({
    auth: {
      clientId,
      clientSecret,
      authority: `https://${host}/${tenant}`,
      knownAuthorities: [host],
    },
    system: { loggerOptions: { logLevel: msal.LogLevel.Error, loggerCallback: () => {} } },
  });
}

// expectError runs fn and checks it fails with the AADSTS code.
async function expectError(fn, code) {
  try {
    await fn();
  } catch (e) {
    const text = `${e.errorCode} ${e.errorMessage || e.message}`;
    assert(text.includes(`AADSTS${code}`), `error ${text}, want AADSTS${code}`);
    return `${e.errorCode}: AADSTS${code}`;
  }
  throw new Error(`succeeded, want AADSTS${code}`);
}

// follow plays the browser: it follows redirects from url until one points
// at the redirect URI and returns that URL's query.
async function follow(url) {
  for (let i = 0; i < 10; i++) {
    const resp = await fetch(url, { redirect: "manual" });
    const loc = resp.headers.get("location");
    assert(resp.status >= 300 && resp.status < 400 && loc, `GET ${url}: status ${resp.status}, want a redirect`);
    const next = new URL(loc, url);
    if (next.href.startsWith(redirectUri)) return next.searchParams;
    url = next.href;
  }
  throw new Error("too many redirects");
}

const cca = client(secret);
let account;
let code;
let codeVerifier;
let firstToken;

await step("client credentials", async () => {
  const r = await cca.acquireTokenByClientCredential({ scopes: graphDefault });
  assert(r && r.accessToken, "no access token");
  const c = claims(r.accessToken);
  assert(c.tid === tenant, `tid ${c.tid}, want ${tenant}`);
  assert(Array.isArray(c.roles) && c.roles.length > 0, `roles ${JSON.stringify(c.roles)}`);
  return `roles ${c.roles.join(",")}`;
});

await step("authorization code with PKCE", async () => {
  const pkce = await new msal.CryptoProvider().generatePkceCodes();
  codeVerifier = pkce.verifier;
  const url = await cca.getAuthCodeUrl({
    scopes: ["User.Read"],
    redirectUri,
    codeChallenge: pkce.challenge,
    codeChallengeMethod: "S256",
    state: "msal-node-state",
  });
  const q = await follow(url);
  assert(!q.get("error"), `sign-in error ${q.get("error")}: ${q.get("error_description")}`);
  assert(q.get("state") === "msal-node-state", `state ${q.get("state")}`);
  code = q.get("code");
  assert(code, "no code");
  const r = await cca.acquireTokenByCode({ code, scopes: ["User.Read"], redirectUri, codeVerifier });
  assert(r.accessToken && r.idToken, "no access or id token");
  assert(r.account && r.account.homeAccountId, "no home account (client_info)");
  assert(r.account.tenantId === tenant, `account tenant ${r.account.tenantId}`);
  account = r.account;
  firstToken = r.accessToken;
  return `signed in as ${r.account.username}`;
});

await step("silent refresh", async () => {
  assert(account, "no account from the previous step");
  const r = await cca.acquireTokenSilent({ account, scopes: ["User.Read"], forceRefresh: true });
  assert(r.accessToken && r.accessToken !== firstToken, "no new access token");
  return `new token until ${r.expiresOn.toISOString()}`;
});

await step("error: wrong client secret", () =>
  expectError(() => client("not-the-secret").acquireTokenByClientCredential({ scopes: graphDefault }), 7000215));

await step("error: authorization code redeemed twice", () =>
  expectError(() => cca.acquireTokenByCode({ code, scopes: ["User.Read"], redirectUri, codeVerifier }), 54005));

await step("error: client credentials without /.default", () =>
  expectError(() => client(secret).acquireTokenByClientCredential({ scopes: ["https://graph.microsoft.com/User.Read.All"] }), 1002012));

if (failures > 0) {
  console.log(`${failures} step(s) failed`);
  process.exit(1);
}
console.log("msal-node: every step passed");
