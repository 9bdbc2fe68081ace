// The tenantgate reference portal's admin screen. It calls the JSON admin
// API under /api with the session cookie set at login (HttpOnly: this
// script never sees a token). No inline script, no dependencies.
"use strict";

(function () {
  const customer = document.body.dataset.customer;
  const api = "/api/customers/" + encodeURIComponent(customer);
  const $ = (id) => document.getElementById(id);
  let settingsVersion = 0;
  let savedFilter = "";
  let usersCursor = "";
  let listSearch = ""; // the search the users table shows, "" for every synced user
  let pendingScope = null; // the previewed scope awaiting Save

  const actions = {
    reInvite: "Send a new invitation (Send Invitation, or New sign-in link).",
    grantConsent: "A Global Administrator of the tenant must grant admin consent (Grant admin consent gives the link).",
    confirmConsent: "Admin consent was reported and is being confirmed with Microsoft; Validate Authentication once it has propagated.",
    fixSettings: "Correct the settings and save them.",
    fixFilter: "Correct the user filter.",
    fixTenant: "Correct the tenant.",
    rotateSecret: "Create a new client secret in Entra ID and save it.",
    rotateCertificate: "Upload a new certificate and save it.",
    fixCredentials: "Correct the username, password or client credentials and save them.",
    restartConnection: "Start the connection again: Send Invitation.",
    completeMFAOrSwitchToToken: "The account needs MFA: switch to the auth token (Sign in to switch to auth token).",
    fixAccount: "An administrator of the customer's tenant must fix the service account in Entra ID.",
    enableApp: "An administrator of the customer's tenant must enable the app in Entra ID.",
    waitAndRetry: "Wait a little and try again.",
  };

  // fmtTime writes every time of the portal one way, in UTC, saying so.
  function fmtTime(s) {
    if (!s) return "";
    const d = new Date(s);
    return isNaN(d) ? s : d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }

  const stateText = {
    connected: "Connected", degraded: "Degraded", notConnected: "Not connected", consentRequired: "Consent required",
    consentPropagating: "Confirming consent", reauthorizationRequired: "Reauthorization required",
    credentialExpired: "Credential expired", accountBlocked: "Account blocked",
  };
  let savedMode = "token";

  function fmtNumber(n) {
    return Number(n).toLocaleString("en-US");
  }

  // show writes a message in the area of the card where the action
  // happened (where: its id; the page's area by default).
  function show(kind, text, extra, where) {
    const m = $(where || "message");
    m.hidden = false;
    m.className = "message " + kind;
    m.replaceChildren();
    const p = document.createElement("p");
    p.textContent = text;
    m.append(p);
    if (extra) m.append(extra);
  }

  // problemText turns an RFC 9457 problem into a message and a list of
  // field errors.
  // fieldInputs maps the API's field names to the inputs they came from.
  const fieldInputs = {
    tenant: "tenant", authMode: "auth-mode", serviceAccount: "username", clientId: "client-id",
    clientSecret: "client-secret", password: "password", appId: "qoe-app-id", userFilter: "user-filter", to: "username",
  };

  // clearFieldErrors removes the errors shown under the inputs of form.
  function clearFieldErrors(form) {
    for (const input of form.querySelectorAll("[aria-invalid]")) {
      const p = $(input.id + "-error");
      if (p && p.dataset.generated) p.remove();
      else if (p) p.hidden = true;
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
    }
  }

  // markField shows a field's error under its input, tied to it.
  function markField(inputId, text) {
    const input = $(inputId);
    if (!input) return false;
    let p = $(inputId + "-error");
    if (!p) {
      p = document.createElement("p");
      p.id = inputId + "-error";
      p.className = "field-error";
      p.dataset.generated = "true";
      input.insertAdjacentElement("afterend", p);
    }
    p.textContent = text;
    p.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", p.id);
    return true;
  }

  function showProblem(what, status, p, where) {
    let text = what + " failed";
    if (p && (p.detail || p.title)) text += ": " + (p.detail || p.title);
    else text += " (HTTP " + status + ")";
    if (!/[.!?]$/.test(text)) text += ".";
    if (p && p.action && actions[p.action]) text += " " + actions[p.action];
    let list = null;
    if (p && Array.isArray(p.fields) && p.fields.length) {
      list = document.createElement("ul");
      for (const f of p.fields) {
        // Under its input when the field has one on this page.
        if (fieldInputs[f.field] && markField(fieldInputs[f.field], f.message)) continue;
        const li = document.createElement("li");
        li.textContent = f.field + ": " + f.message;
        list.append(li);
      }
      if (!list.childElementCount) list = null;
    }
    show("error", text, list, where);
  }

  class APIError extends Error {
    constructor(status, problem) {
      super("HTTP " + status);
      this.status = status;
      this.problem = problem;
    }
  }

  async function call(method, path, body, headers) {
    const init = { method, headers: Object.assign({ Accept: "application/json" }, headers || {}), credentials: "same-origin" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    // Paths under /api/ are absolute; others are the customer's.
    const resp = await fetch(path.startsWith("/api/") ? path : api + path, init);
    if (resp.status === 401) {
      window.location.assign("/login");
      throw new APIError(401, null);
    }
    let data = null;
    const type = resp.headers.get("Content-Type") || "";
    if (type.includes("json")) data = await resp.json();
    if (!resp.ok) throw new APIError(resp.status, data);
    return { data, resp };
  }

  // run performs an action, reporting failures in the message area
  // where (the page's by default).
  async function run(what, fn, where) {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof APIError) {
        if (e.status !== 401) showProblem(what, e.status, e.problem, where);
      } else {
        show("error", what + " failed: " + e.message, null, where);
      }
      return undefined;
    }
  }

  function busy(button, on) {
    button.disabled = on;
    button.classList.toggle("busy", on);
  }

  // Settings.
  function fillSettings(s) {
    settingsVersion = s.version;
    $("tenant").value = s.tenant || "";
    $("auth-mode").value = s.authMode || "token";
    $("username").value = s.serviceAccount || "";
    $("client-id").value = s.clientId || "";
    $("password").value = "";
    $("client-secret").value = "";
    $("password").placeholder = s.passwordSet ? "(set; type to replace)" : "";
    $("client-secret").placeholder = s.clientSecretSet ? "(set; type to replace)" : "";
    $("client-secret-hint").textContent = s.clientSecretExpiresAt ? "Expires " + fmtTime(s.clientSecretExpiresAt) : "";
    savedFilter = s.userFilter || "";
    if (document.activeElement !== $("user-filter") && pendingScope === null) $("user-filter").value = savedFilter;
    savedMode = s.authMode || "token";
    showMode();
    showModeActions();
  }

  // showModeActions shows the buttons that apply to the saved mode.
  function showModeActions() {
    for (const b of $("mode-actions").querySelectorAll("[data-modes]")) {
      b.hidden = !b.dataset.modes.split(" ").includes(savedMode);
    }
    $("grant-consent").textContent = savedMode === "appRegistration" ? "Grant admin consent to the customer's app" : "Grant admin consent";
    $("grant-consent").title = savedMode === "appRegistration"
      ? "The admin consent link of the customer's own app registration (its client ID), for a Global Administrator of the tenant"
      : "The admin consent link of the provider's app, for a Global Administrator of the tenant";
  }

  function showMode() {
    const mode = $("auth-mode").value;
    $("appreg").hidden = mode !== "appRegistration";
    $("password").disabled = mode !== "password";
  }

  async function loadSettings() {
    const r = await call("GET", "/m365");
    fillSettings(r.data);
  }

  async function saveSettings(ev) {
    ev.preventDefault();
    const button = $("save-settings");
    busy(button, true);
    clearFieldErrors($("settings-form"));
    await run("Saving the settings", async () => {
      const body = {
        tenant: $("tenant").value.trim(),
        authMode: $("auth-mode").value,
        serviceAccount: $("username").value.trim(),
      };
      if ($("auth-mode").value === "appRegistration") body.clientId = $("client-id").value.trim();
      if ($("password").value) body.password = $("password").value;
      if ($("client-secret").value) body.clientSecret = $("client-secret").value;
      const r = await call("PUT", "/m365", body, settingsVersion ? { "If-Match": '"' + settingsVersion + '"' } : {});
      fillSettings(r.data);
      show("ok", "Microsoft 365 settings saved.", null, "settings-message");
      loadStatus();
    }, "settings-message");
    busy(button, false);
  }

  async function validate() {
    const button = $("validate");
    busy(button, true);
    const box = $("validate-result");
    box.hidden = true;
    await run("Validate Authentication", async () => {
      const r = await call("POST", "/m365/validate");
      const rep = r.data;
      box.hidden = false;
      box.dataset.ok = String(rep.ok);
      box.className = rep.ok ? "report ok" : "report error";
      box.replaceChildren();
      const h = document.createElement("p");
      h.id = "validate-summary";
      h.textContent = rep.ok ? "Validation OK" : "Validation failed";
      box.append(h);
      const ul = document.createElement("ul");
      for (const c of rep.checks) {
        const li = document.createElement("li");
        li.className = c.ok ? "ok" : "error";
        li.textContent = (c.ok ? "\u2713 " : "\u2717 ") + c.name + (c.detail ? ": " + c.detail : "") +
          (!c.ok && actions[c.action] ? " " + actions[c.action] : "");
        ul.append(li);
      }
      box.append(ul);
      loadStatus();
    }, "settings-message");
    busy(button, false);
  }

  async function sendInvitation() {
    const button = $("send-invitation");
    busy(button, true);
    await run("Send Invitation", async () => {
      const r = await call("POST", "/m365/invitations", { to: $("username").value.trim() });
      const extra = document.createElement("p");
      if (document.body.dataset.demo === "true") {
        const a = document.createElement("a");
        a.href = "/outbox";
        a.textContent = "Open the Outbox to follow the link.";
        extra.append(a);
      }
      show("ok", "Invitation sent to " + r.data.to + "; the link works until " + fmtTime(r.data.expiresAt) + ".", extra, "settings-message");
      loadInvitations();
    }, "settings-message");
    busy(button, false);
  }

  async function refreshToken() {
    const button = $("refresh-token");
    busy(button, true);
    await run("New sign-in link", async () => {
      const r = await call("POST", "/m365/refresh-token");
      $("wizard-link").hidden = false;
      $("wizard-link-url").value = r.data.link;
      show("ok", "A new sign-in link was created (below). Give it to the service account; it works once, until " + fmtTime(r.data.expiresAt) +
        ". The token is renewed when the service account signs in with it.", null, "settings-message");
      loadInvitations();
    }, "settings-message");
    busy(button, false);
  }

  // Switching returns a Microsoft link bound to this browser.
  async function goTo(what, path, button) {
    busy(button, true);
    await run(what, async () => {
      const r = await call("POST", path);
      window.location.assign(r.data.url);
    }, "settings-message");
    busy(button, false);
  }

  // grantConsent shows the admin consent link of the app the customer's
  // connection uses, to copy for the tenant's Global Administrator or to
  // open here.
  async function grantConsent() {
    const button = $("grant-consent");
    busy(button, true);
    await run("Grant admin consent", async () => {
      const l = (await call("POST", "/m365/consent")).data;
      const panel = $("consent-panel");
      panel.hidden = false;
      panel.dataset.clientId = l.clientId;
      panel.dataset.customerApp = String(l.customerApp);
      $("consent-about").textContent = l.customerApp
        ? "Admin consent for the customer's own app registration " + l.clientId + " (the app this customer connects with; not the provider's app)."
        : "Admin consent for the provider's app " + l.clientId + " in the customer's tenant.";
      $("consent-share-url").value = l.shareUrl;
      $("consent-expires").textContent = "(works until " + fmtTime(l.shareExpiresAt) + ")";
      $("consent-redirect").textContent = l.customerApp
        ? "The app registration must list " + l.redirectUri + " as a Web redirect URI for the link to come back here."
        : "";
      $("consent-portal").textContent = l.customerApp
        ? "Without the link: in the Entra admin center, App registrations, application " + l.clientId +
          ", API permissions, Grant admin consent; then Validate Authentication."
        : "";
      $("consent-open").href = l.url;
    }, "settings-message");
    busy(button, false);
  }

  async function copyConsentLink() {
    const input = $("consent-share-url");
    input.select();
    try {
      await navigator.clipboard.writeText(input.value);
      show("ok", "Admin consent link copied.", null, "settings-message");
    } catch (e) {
      show("ok", "Select the link and copy it (Ctrl+C).", null, "settings-message");
    }
  }

  async function loadInvitations() {
    await run("Listing the invitations", async () => {
      const r = await call("GET", "/m365/invitations");
      const list = Array.isArray(r.data) ? r.data : r.data.invitations || [];
      const body = $("invitations").tBodies[0];
      body.replaceChildren();
      for (const inv of list.slice(0, 5)) {
        const tr = body.insertRow();
        tr.dataset.status = inv.status;
        for (const v of [inv.to || "", inv.status, fmtTime(inv.sentAt || inv.createdAt), fmtTime(inv.expiresAt)]) {
          tr.insertCell().textContent = v;
        }
      }
      if (!list.length) body.insertRow().insertCell().textContent = "None yet.";
    });
  }

  // The customer's display name, and the switcher's list (searchable by
  // name or ID; the fleet is read once, up to 500 a page).
  let customerIndex = [];
  async function loadCustomerNames() {
    try {
      const all = [];
      let after = "";
      for (let i = 0; i < 20; i++) {
        const r = (await call("GET", "/api/customers?limit=500" + (after ? "&after=" + encodeURIComponent(after) : ""))).data;
        all.push(...r.customers);
        if (!r.next) break;
        after = r.next;
      }
      customerIndex = all;
      const me = all.find((c) => c.customer === customer);
      if (me && me.name) {
        $("customer-name").textContent = me.name;
        document.title = me.name + " - Microsoft 365 settings - tenantgate portal";
      }
      const list = $("customer-list");
      list.replaceChildren();
      for (const c of all) {
        if (c.customer === customer) continue;
        const o = document.createElement("option");
        o.value = c.name && c.name !== c.customer ? c.name + " (" + c.customer + ")" : c.customer;
        list.append(o);
      }
    } catch (e) {
      if (!(e instanceof APIError)) throw e;
    }
  }

  function switchCustomer(ev) {
    ev.preventDefault();
    const v = $("switch-customer").value.trim();
    if (!v) return;
    const m = v.match(/\(([^()]+)\)$/);
    const lower = v.toLowerCase();
    const hit = customerIndex.find((c) => (m && c.customer === m[1]) || c.customer === v) ||
      customerIndex.find((c) => (c.name || "").toLowerCase() === lower) ||
      customerIndex.find((c) => (c.name || "").toLowerCase().includes(lower) || c.customer.toLowerCase().includes(lower));
    if (!hit) {
      markField("switch-customer", "No customer matches \u201c" + v + "\u201d.");
      return;
    }
    window.location.assign("/?customer=" + encodeURIComponent(hit.customer));
  }

  // Status.
  async function loadStatus() {
    await run("Reading the status", async () => {
      const r = await call("GET", "/m365/status");
      const s = r.data;
      const badge = $("status-state");
      badge.textContent = stateText[s.state] || s.state;
      badge.dataset.state = s.state;
      const dl = $("status-list");
      dl.replaceChildren();
      const row = (k, v) => {
        if (v === undefined || v === null || v === "") return;
        const dt = document.createElement("dt");
        dt.textContent = k;
        const dd = document.createElement("dd");
        dd.textContent = v;
        dl.append(dt, dd);
      };
      row("Mode", s.authMode);
      row("Signed in as", s.account);
      row("Tenant ID", s.tenantId);
      row("Connected", fmtTime(s.connectedAt));
      row("Last token refresh", fmtTime(s.lastRefreshAt));
      row("Last validation", s.lastValidatedAt ? fmtTime(s.lastValidatedAt) + (s.lastValidationOk ? " (ok)" : " (failed)") : "");
      row("Refresh token good until", fmtTime(s.refreshTokenExpiresAt));
      row("Admin consent", fmtTime(s.consentGrantedAt));
      row("Application permissions", (s.grantedRoles || []).join(", "));
      row("Client secret expires", fmtTime(s.secretExpiresAt));
      row("Certificate expires", fmtTime(s.certificateExpiresAt));
      row("QoE secret expires", fmtTime(s.qoeSecretExpiresAt));
      // An error is shown while it stands: a connected customer's
      // older failures are history (see Activity).
      if (s.lastError && s.state !== "connected") {
        row("Last error", fmtTime(s.lastError.occurredAt) + ": " + s.lastError.message);
        if (actions[s.lastError.action]) row("What to do", actions[s.lastError.action]);
      } else if (s.state === "consentPropagating") {
        row("What to do", actions.confirmConsent);
      }
      // The fleet's schedule for this customer (River jobs).
      try {
        const f = (await call("GET", "")).data;
        const when = (t) => (t ? (new Date(t) <= new Date() ? "due now" : fmtTime(t)) : "");
        row("Next scheduled check", when(f.nextCheckAt));
        row("Next scheduled sync", when(f.nextSyncAt));
      } catch (e) {
        if (!(e instanceof APIError && (e.status === 404 || e.status === 501))) throw e;
      }
    });
  }

  // QoE.
  function fillQoE(q) {
    $("qoe-app-id").value = q.appId || "";
    $("qoe-password").value = "";
    $("qoe-password").placeholder = q.clientSecretSet ? "(set; type to replace)" : "";
    $("qoe-password-hint").textContent = q.clientSecretExpiresAt ? "Expires " + fmtTime(q.clientSecretExpiresAt) : "";
  }

  async function loadQoE() {
    await run("Reading the QoE settings", async () => fillQoE((await call("GET", "/m365/qoe")).data));
  }

  async function saveQoE(ev) {
    ev.preventDefault();
    const button = $("save-qoe");
    busy(button, true);
    clearFieldErrors($("qoe-form"));
    await run("Save QOE Integration Settings", async () => {
      const body = { appId: $("qoe-app-id").value.trim() };
      if ($("qoe-password").value) body.clientSecret = $("qoe-password").value;
      fillQoE((await call("PUT", "/m365/qoe", body)).data);
      show("ok", "QoE integration settings saved.", null, "qoe-message");
    }, "qoe-message");
    busy(button, false);
  }

  // Users and sync.
  function showRun(run) {
    const state = $("sync-state");
    const bar = $("sync-progress");
    state.dataset.state = run.state;
    const p = run.progress || {};
    if (run.state === "queued") {
      bar.removeAttribute("value");
      state.textContent = "Sync queued: waiting for a worker\u2026";
    } else if (run.state === "retrying") {
      bar.removeAttribute("value");
      const e = run.error || {};
      state.textContent = "Sync attempt " + (run.attempt || 1) + " failed" + (e.message ? ": " + e.message : "") + "; it is retried automatically\u2026";
    } else if (run.state === "cancelled") {
      bar.value = 0;
      state.textContent = "Last sync cancelled" + (run.finishedAt ? " " + fmtTime(run.finishedAt) : "") + ".";
    } else if (run.state === "running") {
      if (p.percent >= 0) bar.value = p.percent;
      else bar.removeAttribute("value");
      state.textContent = "Syncing: " + fmtNumber(p.read || 0) + " users read" +
        (p.estimate > 0 ? " of about " + fmtNumber(p.estimate) : "") + "\u2026";
    } else if (run.state === "succeeded") {
      bar.value = 100;
      state.textContent = "Last sync " + fmtTime(run.finishedAt) + ": " + fmtNumber(run.total) + " users (" +
        fmtNumber(run.added) + " added, " + fmtNumber(run.changed) + " changed, " + fmtNumber(run.removed) + " removed" +
        (run.round ? "; " + run.round + " read, " + fmtNumber(run.requests || 0) + " Graph requests" : "") + ").";
    } else {
      bar.value = 0;
      const e = run.error || {};
      state.textContent = "Last sync failed" + (e.message ? ": " + e.message : ".") + (actions[e.action] ? " " + actions[e.action] : "");
    }
  }

  async function loadSync() {
    try {
      const r = await call("GET", "/users/sync");
      showRun(r.data);
      return r.data;
    } catch (e) {
      if (e instanceof APIError && e.status === 404) return null; // never synced
      if (e instanceof APIError && e.status === 501) {
        $("sync-state").textContent = "User sync is not configured on this server.";
        return null;
      }
      throw e;
    }
  }

  const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

  async function pollSync() {
    for (;;) {
      const r = await loadSync();
      if (!r || !["queued", "running", "retrying", "interrupted"].includes(r.state)) return r;
      await sleep(r.state === "retrying" ? 2000 : 400);
    }
  }

  // fieldError shows an error under its input (aria-invalid,
  // aria-describedby), where the action happened; "" clears it.
  function fieldError(inputId, text) {
    const input = $(inputId);
    const p = $(inputId + "-error");
    p.textContent = text;
    p.hidden = !text;
    if (text) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", inputId + "-error");
    } else {
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
    }
  }

  function problemText(e) {
    const p = e.problem || {};
    const f = (p.fields || [])[0];
    return f ? f.message : (p.detail || p.title || e.message);
  }

  // sync runs a sync of the saved scope; it never changes the scope.
  async function sync() {
    const button = $("sync");
    busy(button, true);
    await run("Sync", async () => {
      const r = await call("POST", "/users/sync");
      showRun(r.data);
      const done = await pollSync();
      await loadUsers("");
      if (done && done.state === "succeeded") show("ok", "Sync finished: " + fmtNumber(done.total) + " users.");
    });
    busy(button, false);
  }

  // previewScope shows what the next sync would remove under the typed
  // scope; saving it is a second, explicit step, confirmed when more than
  // a tenth of the synced users would go.
  async function previewScope(ev) {
    ev.preventDefault();
    fieldError("user-filter", "");
    const text = $("user-filter").value.trim();
    if (text === savedFilter) {
      $("scope-review").hidden = true;
      pendingScope = null;
      fieldError("user-filter", "This is the saved scope already.");
      return;
    }
    try {
      const r = await call("GET", "/users/scope-preview?userFilter=" + encodeURIComponent(text));
      const p = r.data;
      pendingScope = text;
      $("scope-summary").textContent = "With this scope the next sync keeps " + fmtNumber(p.keep) + " and removes " +
        fmtNumber(p.remove) + " of the " + fmtNumber(p.total) + " synced users. Users it matches outside the current scope are added by that sync (they are counted when it reads them from Microsoft).";
      $("scope-sample").textContent = p.removeSample.length ? "Removed, for example: " + p.removeSample.join(", ") + (p.remove > p.removeSample.length ? ", \u2026" : "") : "";
      $("scope-confirm-row").hidden = !p.confirmRemoval;
      $("scope-confirm").checked = false;
      $("scope-confirm-text").textContent = "Yes, remove " + fmtNumber(p.remove) + " synced users at the next sync";
      $("scope-save").disabled = p.confirmRemoval;
      $("scope-review").hidden = false;
    } catch (e) {
      if (!(e instanceof APIError)) throw e;
      fieldError("user-filter", problemText(e));
    }
  }

  async function saveScope() {
    if (pendingScope === null) return;
    try {
      const r = await call("PUT", "/m365", { userFilter: pendingScope }, settingsVersion ? { "If-Match": '"' + settingsVersion + '"' } : {});
      pendingScope = null;
      fillSettings(r.data);
      $("scope-review").hidden = true;
      show("ok", "Sync scope saved; the next sync applies it (Sync now to apply it at once).");
    } catch (e) {
      if (!(e instanceof APIError)) throw e;
      fieldError("user-filter", problemText(e));
    }
  }

  function cancelScope() {
    pendingScope = null;
    $("scope-review").hidden = true;
    $("user-filter").value = savedFilter;
    fieldError("user-filter", "");
  }

  // looksLikeFilter: search text in the filter language (an operator such
  // as -eq or -like) rather than a name or number.
  function looksLikeFilter(text) {
    return /\s-(eq|ne|like|notlike|match|notmatch|gt|ge|lt|le|and|or|not|in|notin|contains|notcontains)\b/i.test(" " + text);
  }

  async function search(ev) {
    if (ev) ev.preventDefault();
    fieldError("user-search", "");
    listSearch = $("user-search").value.trim();
    await loadUsers("");
  }

  async function loadUsers(after) {
    const q = new URLSearchParams({ limit: "50" });
    if (after) q.set("after", after);
    if (listSearch) q.set(looksLikeFilter(listSearch) ? "filter" : "q", listSearch);
    let r;
    try {
      r = await call("GET", "/users?" + q);
    } catch (e) {
      if (e instanceof APIError && e.status === 501) return;
      if (e instanceof APIError && e.status === 400 && listSearch) {
        fieldError("user-search", problemText(e));
        return;
      }
      return run("Listing the users", () => { throw e; });
    }
    const page = r.data;
    const total = $("users-total");
    total.textContent = fmtNumber(page.total);
    total.dataset.total = String(page.total);
    $("users-total-label").textContent = listSearch ? "synced users match " + listSearch : "synced users";
    const body = $("users").tBodies[0];
    body.replaceChildren();
    for (const u of page.users) {
      const tr = body.insertRow();
      const pol = u.policies || {};
      // The UPN opens the user's Teams Phone page (voice.js).
      const link = document.createElement("a");
      link.href = "/voice/user?customer=" + encodeURIComponent(customer) + "&user=" + encodeURIComponent(u.userPrincipalName);
      link.textContent = u.userPrincipalName;
      link.title = "Teams Phone of " + u.userPrincipalName;
      tr.insertCell().append(link);
      for (const v of [u.displayName, u.department, u.jobTitle, u.city, u.usageLocation, u.accountEnabled ? "yes" : "no",
        u.lineUri, u.enterpriseVoiceEnabled ? "yes" : "no", pol.OnlineVoiceRoutingPolicy, pol.TenantDialPlan]) {
        tr.insertCell().textContent = v || "";
      }
    }
    usersCursor = page.next || "";
    $("users-next").disabled = !usersCursor;
    $("users-first").disabled = !after;
  }

  // Call quality (QoE).
  const svgNS = "http://www.w3.org/2000/svg";
  const reasonText = { jitter: "jitter", packetLoss: "packet loss", roundTrip: "round trip" };
  let poorCursor = "";

  function svg(name, attrs, text) {
    const el = document.createElementNS(svgNS, name);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function pct(x) {
    return (Math.round(x * 1000) / 10) + "%";
  }

  // drawChart draws the poor-call rate of each day as a bar chart in
  // inline SVG: 0 to 100% (or the highest rate, rounded up), one bar a
  // day, grey where a day had no calls.
  function drawChart(days) {
    const W = 720, H = 200, left = 40, right = 10, top = 14, bottom = 24;
    const plotW = W - left - right, plotH = H - top - bottom;
    let maxRate = 0;
    for (const d of days) if (d.calls > 0) maxRate = Math.max(maxRate, d.poorCalls / d.calls);
    const yMax = Math.min(1, Math.max(0.1, Math.ceil(maxRate * 10) / 10));
    const root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "Poor-call rate per day" });
    for (let i = 0; i <= 4; i++) {
      const v = yMax * i / 4, y = top + plotH - plotH * i / 4;
      root.append(svg("line", { x1: left, x2: W - right, y1: y, y2: y, class: i === 0 ? "axis" : "grid" }));
      root.append(svg("text", { x: left - 6, y: y + 4, "text-anchor": "end" }, pct(v)));
    }
    const slot = plotW / Math.max(days.length, 1), barW = Math.max(4, slot * 0.62);
    days.forEach((d, i) => {
      const x = left + i * slot + (slot - barW) / 2;
      const label = d.date.slice(5);
      if (days.length <= 16 || i % 2 === 0) {
        root.append(svg("text", { x: x + barW / 2, y: H - bottom + 16, "text-anchor": "middle" }, label));
      }
      const g = svg("g", { class: "day", "data-date": d.date, "data-calls": d.calls, "data-poor": d.poorCalls });
      if (d.calls === 0) {
        g.append(svg("rect", { x, y: top + plotH - 3, width: barW, height: 3, class: "none" }));
        g.append(svg("title", {}, d.date + ": no calls"));
      } else {
        const rate = d.poorCalls / d.calls, h = Math.max(2, plotH * rate / yMax);
        g.append(svg("rect", { x, y: top + plotH - h, width: barW, height: h, class: rate === 0 ? "bar zero" : "bar" }));
        g.append(svg("text", { x: x + barW / 2, y: top + plotH - h - 4, "text-anchor": "middle", class: "value" }, pct(rate)));
        g.append(svg("title", {}, d.date + ": " + d.poorCalls + " of " + d.calls + " calls poor (" + pct(rate) + ")"));
      }
      root.append(g);
    });
    $("qoe-chart").replaceChildren(root);
  }

  function showSubscription(sub) {
    const b = $("qoe-sub-state");
    b.dataset.state = sub.state;
    b.textContent = { none: "no subscription", active: "subscribed", expiring: "renewal due", expired: "subscription expired", failed: "subscription failed" }[sub.state] || sub.state;
    const parts = [];
    if (sub.expiresAt) parts.push("call records subscription until " + fmtTime(sub.expiresAt));
    if (sub.lastCallAt) parts.push("newest call " + fmtTime(sub.lastCallAt));
    if (sub.rejected) parts.push(sub.rejected + " forged notification" + (sub.rejected === 1 ? "" : "s") + " refused");
    if (sub.lastError) parts.push(sub.lastError);
    $("qoe-sub-detail").textContent = parts.join(" \u00b7 ");
  }

  function setStat(id, v, text) {
    $(id).dataset.value = String(v);
    $(id).textContent = text === undefined ? fmtNumber(v) : text;
  }

  async function loadQoESummary() {
    await run("Reading the call quality", async () => {
      const s = (await call("GET", "/qoe/summary")).data;
      showSubscription(s.subscription);
      setStat("qoe-calls", s.calls);
      setStat("qoe-poor", s.poorCalls);
      setStat("qoe-rate", s.poorRate, s.calls ? pct(s.poorRate) : "\u2013");
      setStat("qoe-jitter", s.poorByReason.jitter);
      setStat("qoe-loss", s.poorByReason.packetLoss);
      setStat("qoe-rtt", s.poorByReason.roundTrip);
      drawChart(s.days.slice(-14));
    });
  }

  function fmtDuration(from, to) {
    const s = Math.round((new Date(to) - new Date(from)) / 1000);
    return isNaN(s) ? "" : Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  async function loadPoorCalls(after) {
    await run("Reading the poor calls", async () => {
      const q = "?poor=true&limit=25" + (after ? "&after=" + encodeURIComponent(after) : "");
      const page = (await call("GET", "/qoe/calls" + q)).data;
      const body = $("qoe-poor-calls").tBodies[0];
      if (!after) body.replaceChildren();
      for (const c of page.calls) {
        const tr = body.insertRow();
        tr.dataset.id = c.id;
        tr.insertCell().textContent = fmtTime(c.startedAt);
        tr.insertCell().textContent = c.caller;
        tr.insertCell().textContent = c.callee;
        tr.insertCell().textContent = fmtDuration(c.startedAt, c.endedAt);
        const why = tr.insertCell();
        for (const r of c.poorReasons) {
          const span = document.createElement("span");
          span.className = "reason";
          span.textContent = reasonText[r] || r;
          why.append(span);
        }
      }
      if (!after && page.calls.length === 0) {
        const tr = body.insertRow();
        const td = tr.insertCell();
        td.colSpan = 5;
        td.className = "muted";
        td.textContent = "No poor calls in the last 7 days.";
      }
      poorCursor = page.next || "";
      $("qoe-more").hidden = !poorCursor;
    });
  }

  async function loadPSTN() {
    await run("Reading the PSTN report", async () => {
      const rep = (await call("GET", "/qoe/pstn")).data;
      const body = $("qoe-pstn").tBodies[0];
      body.replaceChildren();
      for (const t of rep.trunks) {
        const tr = body.insertRow();
        tr.insertCell().textContent = t.fqdn;
        tr.insertCell().textContent = fmtNumber(t.attempts);
        tr.insertCell().textContent = fmtNumber(t.successes);
        tr.insertCell().textContent = fmtNumber(Math.round(t.minutes * 10) / 10);
        tr.insertCell().textContent = t.sipCodes.map((c) => c.code + "\u00a0\u00d7" + c.count).join(", ");
      }
      if (rep.callingPlan && rep.callingPlan.calls) {
        const tr = body.insertRow();
        tr.insertCell().textContent = "Calling Plan";
        tr.insertCell().textContent = fmtNumber(rep.callingPlan.calls);
        tr.insertCell().textContent = fmtNumber(rep.callingPlan.calls);
        tr.insertCell().textContent = fmtNumber(Math.round(rep.callingPlan.minutes * 10) / 10);
        tr.insertCell().textContent = "";
      }
      if (body.rows.length === 0) {
        const td = body.insertRow().insertCell();
        td.colSpan = 5;
        td.className = "muted";
        td.textContent = rep.pulledAt ? "No PSTN calls." : "Not pulled yet (daily, with CallRecords.Read.PstnCalls).";
      }
    });
  }

  function loadCallQuality() {
    loadQoESummary();
    loadPoorCalls("");
    loadPSTN();
  }

  async function validateQoE() {
    const button = $("qoe-validate");
    busy(button, true);
    const box = $("qoe-validate-result");
    box.hidden = true;
    await run("Validate QoE", async () => {
      const rep = (await call("POST", "/m365/qoe/validate")).data;
      box.hidden = false;
      box.dataset.ok = String(rep.ok);
      box.className = rep.ok ? "report ok" : "report error";
      box.replaceChildren();
      const h = document.createElement("p");
      h.textContent = rep.ok ? "QoE validation OK" : "QoE validation failed";
      box.append(h);
      const ul = document.createElement("ul");
      for (const c of rep.checks) {
        const li = document.createElement("li");
        li.className = c.ok ? "ok" : (c.required ? "error" : "");
        li.textContent = (c.ok ? "\u2713 " : "\u2717 ") + c.name + (c.detail ? ": " + c.detail : "") + (!c.ok && c.action ? " \u2192 " + c.action : "");
        ul.append(li);
      }
      box.append(ul);
      showSubscription(rep.subscription);
    });
    busy(button, false);
  }

  // placeCalls asks the demo's fake cloud to place 100 calls, then
  // follows the summary until they are processed.
  async function placeCalls() {
    const button = $("qoe-place");
    busy(button, true);
    try {
      const before = Number($("qoe-calls").dataset.value || 0);
      const resp = await fetch("/dev/calls", { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" }, body: JSON.stringify({ count: 100, pstn: 20 }) });
      const data = await resp.json().catch(() => null);
      if (!resp.ok) {
        showProblem("Place 100 demo calls", resp.status, data);
        return;
      }
      show("ok", "The fake placed " + data.placed + " calls; Microsoft notifies the portal, which fetches and classifies each call\u2026");
      for (let i = 0; i < 60; i++) {
        await new Promise((r) => setTimeout(r, 500));
        await loadQoESummary();
        if (Number($("qoe-calls").dataset.value) >= before + data.placed) break;
      }
      loadPoorCalls("");
      loadPSTN();
      show("ok", data.placed + " calls processed.");
    } finally {
      busy(button, false);
    }
  }

  // Activity: the customer's recent events (with their webhook delivery)
  // and its audit trail.
  const eventText = {
    "connection.connected": "Connected",
    "connection.failed": "Connection failed",
    "connection.recovered": "Connection recovered",
    "consent.granted": "Consent granted",
    "consent.missing": "Consent missing",
    "secret.expiring": "Secret expiring",
    "secret.expired": "Secret expired",
    "sync.succeeded": "Sync succeeded",
    "sync.failed": "Sync failed",
    "qoe.subscription.failed": "QoE subscription failed",
    "customer.offboarded": "Offboarded",
    "voice.assigned": "Voice assigned",
    "voice.released": "Voice released",
    "voice.failed": "Voice change failed",
    "voice.range.low": "Range running low",
    "voice.range.exhausted": "Range exhausted",
    "voice.joiners": "Joiners provisioned",
    "voice.leavers": "Leavers released",
    "voice.range.low": "Number range running low",
    "voice.range.exhausted": "Number range exhausted",
    "voice.joiners": "Voice joiners provisioned",
    "voice.leavers": "Voice leavers released",
  };

  function eventDetail(d) {
    const parts = [];
    if (d.from && d.to) parts.push(d.from + " \u2192 " + d.to);
    if (d.credential) parts.push(d.credential + (d.daysLeft ? " in " + d.daysLeft + " days" : ""));
    if (d.users !== undefined) parts.push(fmtNumber(d.users) + " users");
    if (d.user) parts.push(d.user + (d.number ? " " + d.number : ""));
    else if (d.number) parts.push(d.number);
    if (d.profile) parts.push("profile " + d.profile + (d.dryRun ? " (dry run: nothing changed)" : ""));
    if (d.range) parts.push("range " + d.range + ": " + fmtNumber(d.free || 0) + " of " + fmtNumber(d.numbers || 0) + " numbers free");
    if (d.error) parts.push(d.error);
    if (d.action) parts.push(actions[d.action] || d.action);
    return parts.join("; ");
  }

  // The activity tables page back by cursor ("Older"); the automatic
  // refresh only reloads a table still showing its newest page.
  const activityCursor = { events: "", audit: "" };
  const activityPaged = { events: false, audit: false };

  async function loadEvents(after) {
    await run("Reading the events", async () => {
      const q = new URLSearchParams({ limit: "10" });
      if (after) q.set("after", after);
      const [ev, dl] = await Promise.all([
        call("GET", "/events?" + q),
        call("GET", "/api/webhooks/deliveries?limit=50&customer=" + encodeURIComponent(customer)),
      ]);
      const delivery = {};
      for (const d of dl.data.deliveries) delivery[d.eventId] = d;
      const body = $("events").tBodies[0];
      if (!after) body.replaceChildren();
      for (const e of ev.data.events) {
        const tr = body.insertRow();
        tr.dataset.type = e.type;
        const d = delivery[e.id];
        const hook = d ? d.state + (d.attempts > 1 ? " (" + d.attempts + " attempts)" : "") : "\u2014";
        for (const v of [fmtTime(e.occurredAt), eventText[e.type] || e.type, eventDetail(e.data), hook]) {
          tr.insertCell().textContent = v;
        }
      }
      if (!body.rows.length) body.insertRow().insertCell().textContent = "No events yet.";
      activityCursor.events = ev.data.next || "";
      activityPaged.events = !!after;
      $("events-older").hidden = !activityCursor.events;
    });
  }

  async function loadAudit(after) {
    await run("Reading the audit trail", async () => {
      const q = new URLSearchParams({ limit: "10" });
      if (after) q.set("after", after);
      const r = await call("GET", "/audit?" + q);
      const body = $("audit").tBodies[0];
      if (!after) body.replaceChildren();
      for (const a of r.data.entries) {
        const tr = body.insertRow();
        tr.dataset.outcome = a.outcome;
        for (const v of [fmtTime(a.occurredAt), a.actor, a.action, a.outcome]) {
          tr.insertCell().textContent = v;
        }
      }
      if (!body.rows.length) body.insertRow().insertCell().textContent = "Nothing recorded yet.";
      activityCursor.audit = r.data.next || "";
      activityPaged.audit = !!after;
      $("audit-older").hidden = !activityCursor.audit;
    });
  }

  async function loadActivity() {
    await loadEvents("");
    await loadAudit("");
  }

  // refreshActivity is the automatic refresh: it leaves alone a table the
  // reader paged back in.
  function refreshActivity() {
    if (!activityPaged.events) loadEvents("");
    if (!activityPaged.audit) loadAudit("");
  }

  // Tabs: each tab is a link (/?customer=...&tab=...) the server renders
  // on its own; here a click switches without a reload and keeps the URL,
  // and the arrow, Home and End keys move between tabs (WAI-ARIA tabs).
  function selectTab(a, focus) {
    for (const t of document.querySelectorAll('#customer-tabs [role="tab"]')) {
      const on = t === a;
      t.setAttribute("aria-selected", String(on));
      if (on) t.removeAttribute("tabindex");
      else t.setAttribute("tabindex", "-1");
      $(t.getAttribute("aria-controls")).hidden = !on;
    }
    if (focus) a.focus();
    history.replaceState(null, "", a.href);
    document.dispatchEvent(new CustomEvent("tenantgate:tab", { detail: a.id.slice(4) }));
  }

  function initTabs() {
    const tabs = [...document.querySelectorAll('#customer-tabs [role="tab"]')];
    for (const a of tabs) {
      a.addEventListener("click", (ev) => {
        if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
        ev.preventDefault();
        selectTab(a, false);
      });
      a.addEventListener("keydown", (ev) => {
        const i = tabs.indexOf(a);
        const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[ev.key];
        if (to === undefined) return;
        ev.preventDefault();
        selectTab(tabs[(to + tabs.length) % tabs.length], true);
      });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("settings-form").addEventListener("submit", saveSettings);
    $("auth-mode").addEventListener("change", showMode);
    $("validate").addEventListener("click", validate);
    $("send-invitation").addEventListener("click", sendInvitation);
    $("refresh-token").addEventListener("click", refreshToken);
    $("switch-to-token").addEventListener("click", (ev) => goTo("Sign in to switch to auth token", "/m365/switch-to-token", ev.currentTarget));
    $("grant-consent").addEventListener("click", grantConsent);
    $("consent-copy").addEventListener("click", copyConsentLink);
    $("consent-share-url").addEventListener("focus", (ev) => ev.target.select());
    $("switcher").addEventListener("submit", switchCustomer);
    loadCustomerNames();
    $("status-refresh").addEventListener("click", loadStatus);
    $("qoe-form").addEventListener("submit", saveQoE);
    $("scope-form").addEventListener("submit", previewScope);
    $("scope-save").addEventListener("click", saveScope);
    $("scope-cancel").addEventListener("click", cancelScope);
    $("scope-confirm").addEventListener("change", (ev) => { $("scope-save").disabled = !ev.target.checked; });
    $("sync").addEventListener("click", sync);
    $("search-form").addEventListener("submit", search);
    $("search-clear").addEventListener("click", () => { $("user-search").value = ""; search(); });
    $("users-next").addEventListener("click", () => loadUsers(usersCursor));
    $("users-first").addEventListener("click", () => loadUsers(""));
    $("wizard-link-url").addEventListener("focus", (ev) => ev.target.select());
    $("qoe-validate").addEventListener("click", validateQoE);
    $("qoe-refresh").addEventListener("click", loadCallQuality);
    $("qoe-more").addEventListener("click", () => loadPoorCalls(poorCursor));
    if ($("qoe-place")) $("qoe-place").addEventListener("click", placeCalls);

    run("Loading the settings", loadSettings);
    loadStatus();
    loadQoE();
    loadInvitations();
    loadUsers("");
    run("Reading the last sync", pollSync);
    initTabs();
    loadActivity();
    $("activity-refresh").addEventListener("click", loadActivity);
    $("events-older").addEventListener("click", () => loadEvents(activityCursor.events));
    $("audit-older").addEventListener("click", () => loadAudit(activityCursor.audit));
    loadCallQuality();
    setInterval(() => { if (!document.hidden) { loadStatus(); refreshActivity(); } }, 10000);
    setInterval(() => { if (!document.hidden) loadQoESummary(); }, 15000);
  });
})();
