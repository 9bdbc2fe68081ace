// The tenantgate reference portal's Customers page: the fleet table from
// GET /api/customers, filters, paging, add and offboard. No inline script.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const actionText = {
    sendInvitation: "Send the invitation",
    reInvite: "Send a new invitation",
    grantConsent: "Grant admin consent",
    rotateSecret: "Rotate the client secret",
    rotateCertificate: "Rotate the certificate",
    fixSettings: "Fix the settings",
    fixTenant: "Fix the tenant",
    fixCredentials: "Fix the credentials",
    fixFilter: "Fix the user filter",
    configure: "Configure Microsoft 365",
    completeMFAOrSwitchToToken: "Switch to the auth token",
    restartConnection: "Send the invitation again",
    confirmConsent: "Confirm the consent",
    fixAccount: "Fix the service account",
    enableApp: "Enable the app",
  };
  const stateText = {
    connected: "Connected", degraded: "Degraded", notConnected: "Not connected", consentRequired: "Consent required",
    reauthorizationRequired: "Reauthorization required", credentialExpired: "Credential expired",
    consentPropagating: "Confirming consent", accountBlocked: "Account blocked",
    notConfigured: "Not configured", offboarding: "Offboarding",
  };

  // fmtTime writes every time of the portal one way, in UTC, saying so.
  function fmtTime(s) {
    if (!s) return "";
    const d = new Date(s);
    return isNaN(d) ? s : d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }

  function show(kind, text) {
    const m = $("message");
    m.hidden = false;
    m.className = "message " + kind;
    m.textContent = text;
  }

  async function call(method, path, body) {
    const opts = { method, headers: {}, credentials: "same-origin" };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const r = await fetch("/api" + path, opts);
    const data = r.headers.get("Content-Type") && r.headers.get("Content-Type").includes("json") ? await r.json() : null;
    if (!r.ok) {
      if (r.status === 401) { window.location = "/login"; }
      const err = new Error((data && (data.detail || data.title)) || ("HTTP " + r.status));
      err.status = r.status;
      err.problem = data || {};
      throw err;
    }
    return data;
  }

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    if (text instanceof Node) td.append(text); else td.textContent = text || "";
    if (cls) td.className = cls;
    tr.append(td);
    return td;
  }

  // The fleet is read whole (500 a request) and searched, sorted, counted
  // and paged here, 100 a page; the view's state lives in the URL.
  const pageSize = 100;
  let all = [];
  const selected = new Set();
  const view = { q: "", state: "", needsAction: false, sort: "name", dir: "asc", page: 1 };
  const actionable = (c) => c.action && c.action !== "none";
  const stateOrder = ["consentRequired", "reauthorizationRequired", "credentialExpired", "degraded", "notConnected", "notConfigured", "offboarding", "connected"];

  function readURL() {
    const u = new URLSearchParams(window.location.search);
    view.q = u.get("q") || "";
    view.state = u.get("state") || "";
    view.needsAction = u.get("needsAction") === "true";
    view.sort = u.get("sort") || "name";
    view.dir = u.get("dir") === "desc" ? "desc" : "asc";
    view.page = Math.max(1, parseInt(u.get("page") || "1", 10) || 1);
    $("fleet-search").value = view.q;
    $("state-filter").value = view.state;
    $("needs-action").checked = view.needsAction;
  }

  function writeURL() {
    const u = new URLSearchParams();
    if (view.q) u.set("q", view.q);
    if (view.state) u.set("state", view.state);
    if (view.needsAction) u.set("needsAction", "true");
    if (view.sort !== "name") u.set("sort", view.sort);
    if (view.dir !== "asc") u.set("dir", view.dir);
    if (view.page > 1) u.set("page", String(view.page));
    const qs = u.toString();
    window.history.replaceState(null, "", "/customers" + (qs ? "?" + qs : ""));
  }

  async function load() {
    try {
      const out = [];
      let after = "";
      do {
        const q = new URLSearchParams({ limit: "500" });
        if (after) q.set("after", after);
        const page = await call("GET", "/customers?" + q);
        out.push(...page.customers);
        after = page.next || "";
      } while (after);
      all = out;
      render();
    } catch (e) {
      show("error", "Listing the customers failed: " + e.message);
    }
  }

  function matches(c) {
    if (view.state && c.state !== view.state) return false;
    if (view.needsAction && !actionable(c)) return false;
    if (view.q) {
      const t = view.q.toLowerCase();
      if (!(c.customer.toLowerCase().includes(t) || (c.name || "").toLowerCase().includes(t))) return false;
    }
    return true;
  }

  function sortKey(c) {
    switch (view.sort) {
      case "state": return String(stateOrder.indexOf(c.state)).padStart(2, "0") + (c.name || c.customer).toLowerCase();
      case "action": return (actionText[c.action] || "~") + (c.name || c.customer).toLowerCase();
      case "lastSync": return c.lastSyncAt || "";
      case "secret": return c.secretExpiresAt || "~";
      default: return (c.name || c.customer).toLowerCase();
    }
  }

  function renderCounts() {
    const counts = {};
    for (const c of all) counts[c.state] = (counts[c.state] || 0) + 1;
    const box = $("state-counts");
    box.replaceChildren();
    const chip = (state, label, n) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "chip" + (view.state === state ? " on" : "");
      b.dataset.state = state;
      b.setAttribute("aria-pressed", String(view.state === state));
      b.textContent = label + " " + n;
      b.addEventListener("click", () => { view.state = view.state === state ? "" : state; view.page = 1; $("state-filter").value = view.state; render(); });
      box.append(b);
    };
    chip("", "All", all.length);
    for (const st of stateOrder) if (counts[st]) chip(st, stateText[st] || st, counts[st]);
    const na = all.filter(actionable).length;
    $("needs-action-count").textContent = "(" + na + ")";
  }

  // actionNeeds is the least role that can carry an action out through the
  // portal (invitations and consent links: operator; settings and the auth
  // mode: admin). A role below it sees the action as text, not a button.
  const actionNeeds = {
    sendInvitation: "operator", reInvite: "operator", restartConnection: "operator",
    grantConsent: "operator", confirmConsent: "operator",
  };

  function actionButton(c) {
    if (!actionable(c)) return document.createTextNode("");
    const text = actionText[c.action] || c.action;
    const b = document.createElement("button");
    b.type = "button";
    b.className = "row-action";
    b.textContent = text;
    b.dataset.needs = actionNeeds[c.action] || "admin";
    const label = document.createElement("span");
    label.className = "action-label";
    label.textContent = text;
    const both = document.createDocumentFragment();
    both.append(b, label);
    if (["sendInvitation", "reInvite", "restartConnection"].includes(c.action)) {
      b.addEventListener("click", () => bulk("invite", [c.customer]));
    } else {
      b.addEventListener("click", () => { window.location = "/?customer=" + encodeURIComponent(c.customer); });
    }
    return both;
  }

  function rowMenu(c) {
    const d = document.createElement("details");
    d.className = "menu";
    d.dataset.needs = "admin"; // offboarding is the menu's one action
    const s = document.createElement("summary");
    s.textContent = "More";
    s.setAttribute("aria-label", "More actions for " + (c.name || c.customer));
    d.append(s);
    const off = document.createElement("button");
    off.type = "button";
    off.className = "offboard danger";
    off.textContent = "Offboard\u2026";
    off.disabled = c.state === "offboarding";
    off.addEventListener("click", () => { d.open = false; offboard(c.customer, c.name); });
    d.append(off);
    return d;
  }

  function render() {
    writeURL();
    renderCounts();
    const rows = all.filter(matches);
    const dir = view.dir === "desc" ? -1 : 1;
    rows.sort((x, y) => (sortKey(x) < sortKey(y) ? -dir : sortKey(x) > sortKey(y) ? dir : 0));
    const pages = Math.max(1, Math.ceil(rows.length / pageSize));
    if (view.page > pages) view.page = pages;
    const shown = rows.slice((view.page - 1) * pageSize, view.page * pageSize);
    const body = $("fleet").querySelector("tbody");
    body.replaceChildren();
    for (const c of shown) {
      const tr = document.createElement("tr");
      tr.dataset.customer = c.customer;
      const box = document.createElement("input");
      box.type = "checkbox";
      box.className = "pick";
      box.checked = selected.has(c.customer);
      box.setAttribute("aria-label", "Select " + (c.name || c.customer));
      box.addEventListener("change", () => { if (box.checked) selected.add(c.customer); else selected.delete(c.customer); showSelection(); });
      cell(tr, box);
      const a = document.createElement("a");
      a.href = "/?customer=" + encodeURIComponent(c.customer);
      a.textContent = c.name && c.name !== c.customer ? c.name + " (" + c.customer + ")" : c.customer;
      cell(tr, a);
      cell(tr, c.authMode);
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.dataset.state = c.state;
      badge.textContent = stateText[c.state] || c.state;
      cell(tr, badge);
      cell(tr, actionButton(c), "action").dataset.action = c.action || "";
      cell(tr, fmtTime(c.lastValidatedAt));
      cell(tr, fmtTime(c.lastSyncAt));
      cell(tr, fmtTime(c.secretExpiresAt));
      cell(tr, rowMenu(c));
      body.append(tr);
    }
    $("fleet-empty").hidden = shown.length > 0;
    $("fleet-page").textContent = rows.length ? "Page " + view.page + " of " + pages + " \u00b7 " + rows.length + (rows.length === 1 ? " customer" : " customers") : "";
    $("fleet-prev").disabled = view.page <= 1;
    $("fleet-next").disabled = view.page >= pages;
    for (const th of document.querySelectorAll("#fleet th[data-sort]")) {
      th.setAttribute("aria-sort", th.dataset.sort === view.sort ? (view.dir === "asc" ? "ascending" : "descending") : "none");
    }
    $("pick-all").checked = shown.length > 0 && shown.every((c) => selected.has(c.customer));
    showSelection();
  }

  function showSelection() {
    $("selection").textContent = selected.size ? selected.size + " selected" : "None selected";
    for (const id of ["bulk-invite", "bulk-validate", "bulk-sync", "bulk-clear"]) $(id).disabled = selected.size === 0;
  }

  // bulk runs one action on each customer, four at a time, with a
  // progress bar and a line per customer.
  const bulkOps = {
    invite: { label: "Send invitation", method: "POST", path: "/m365/invitations", body: {} },
    validate: { label: "Validate", method: "POST", path: "/m365/validate" },
    sync: { label: "Sync", method: "POST", path: "/users/sync" },
  };

  async function bulk(kind, customers) {
    const op = bulkOps[kind];
    const card = $("bulk-card");
    card.hidden = false;
    $("bulk-title").textContent = op.label + ": " + customers.length + " customer" + (customers.length === 1 ? "" : "s");
    const bar = $("bulk-progress");
    bar.max = customers.length;
    bar.value = 0;
    const list = $("bulk-results").querySelector("tbody");
    list.replaceChildren();
    let done = 0, failed = 0;
    const queue = customers.slice();
    const worker = async () => {
      while (queue.length) {
        const id = queue.shift();
        const tr = document.createElement("tr");
        tr.dataset.customer = id;
        let result;
        try {
          await call(op.method, "/customers/" + encodeURIComponent(id) + op.path, op.body);
          result = "done";
        } catch (e) {
          result = "failed: " + e.message;
          failed++;
        }
        tr.dataset.result = result === "done" ? "ok" : "failed";
        cell(tr, id);
        cell(tr, result);
        list.append(tr);
        done++;
        bar.value = done;
        $("bulk-state").textContent = done + " of " + customers.length + " done" + (failed ? ", " + failed + " failed" : "");
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    $("bulk-card").dataset.finished = "true";
    await load();
  }

  const resultText = {
    deleted: "Deleted", revoked: "Revoked", nothing: "Nothing to do",
    actionRequired: "Customer's admin must act", notDone: "Not done",
  };

  // showReport renders an offboarding report: what tenantgate deleted or
  // revoked, and the steps at Microsoft left to the customer's admin.
  function showReport(customer, r) {
    $("offboard-card").hidden = false;
    $("offboard-customer").textContent = customer;
    const rep = r.report;
    const link = $("offboard-download");
    if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(new Blob([JSON.stringify(r, null, 2)], { type: "application/json" }));
    link.download = "offboarding-" + customer + ".json";
    $("offboard-state").textContent = !rep ? "Job " + r.job + " is " + r.state + "." :
      rep.finishedAt ? "Finished " + fmtTime(rep.finishedAt) + " (job " + rep.job + ")." :
      "Running since " + fmtTime(rep.startedAt) + " (job " + rep.job + ")…";
    const body = $("offboard-items").querySelector("tbody");
    body.replaceChildren();
    for (const it of (rep && rep.items) || []) {
      const tr = document.createElement("tr");
      const cells = [it.item, resultText[it.result] || it.result, it.detail, it.action || ""];
      cells.forEach((text, i) => {
        const td = document.createElement("td");
        td.textContent = text;
        if (i === 1) td.className = "result-" + it.result;
        tr.append(td);
      });
      body.append(tr);
    }
  }

  async function offboard(customer, name) {
    const typed = window.prompt("Offboard " + (name || customer) + "? This revokes and erases its tokens, secrets, invitations, QoE subscriptions, synced users and call data. The audit trail stays.\n\nType the customer ID (" + customer + ") to confirm.");
    if (typed === null) return;
    if (typed.trim() !== customer) {
      show("error", "Not offboarded: the typed ID does not match " + customer + ".");
      return;
    }
    try {
      let r = await call("DELETE", "/customers/" + encodeURIComponent(customer));
      show("ok", "Offboarding " + customer + " (job " + r.job + ").");
      showReport(customer, r);
      await load();
      // DELETE again is idempotent: it returns the same job and its report
      // so far. Poll until the report is final (for at most two minutes).
      for (let i = 0; i < 80 && !(r.report && r.report.finishedAt); i++) {
        await new Promise((ok) => setTimeout(ok, 1500));
        r = await call("DELETE", "/customers/" + encodeURIComponent(customer));
        showReport(customer, r);
      }
      await load();
    } catch (e) {
      show("error", "Offboarding failed: " + e.message);
    }
  }

  $("fleet-refresh").addEventListener("click", () => load());
  $("fleet-search").addEventListener("input", () => { view.q = $("fleet-search").value.trim(); view.page = 1; render(); });
  $("fleet-filter").addEventListener("submit", (ev) => ev.preventDefault());
  $("state-filter").addEventListener("change", () => { view.state = $("state-filter").value; view.page = 1; render(); });
  $("needs-action").addEventListener("change", () => { view.needsAction = $("needs-action").checked; view.page = 1; render(); });
  $("fleet-next").addEventListener("click", () => { view.page++; render(); });
  $("fleet-prev").addEventListener("click", () => { view.page--; render(); });
  for (const th of document.querySelectorAll("#fleet th[data-sort] button")) {
    th.addEventListener("click", () => {
      const key = th.parentElement.dataset.sort;
      if (view.sort === key) view.dir = view.dir === "asc" ? "desc" : "asc";
      else { view.sort = key; view.dir = "asc"; }
      render();
    });
  }
  $("pick-all").addEventListener("change", () => {
    for (const tr of $("fleet").querySelectorAll("tbody tr")) {
      if ($("pick-all").checked) selected.add(tr.dataset.customer); else selected.delete(tr.dataset.customer);
    }
    render();
  });
  $("bulk-invite").addEventListener("click", () => bulk("invite", [...selected]));
  $("bulk-validate").addEventListener("click", () => bulk("validate", [...selected]));
  $("bulk-sync").addEventListener("click", () => bulk("sync", [...selected]));
  $("bulk-clear").addEventListener("click", () => { selected.clear(); render(); });

  // The Add customer form's inputs by the API's field names; an error is
  // shown under its field (aria-invalid, aria-describedby).
  const addFields = { customer: "new-customer", name: "new-name", tenant: "new-tenant", serviceAccount: "new-account" };

  function clearAddErrors() {
    for (const id of Object.values(addFields)) {
      const input = $(id);
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
      $(id + "-error").hidden = true;
    }
    $("add-error").hidden = true;
  }

  function fieldError(field, text) {
    const id = addFields[field];
    if (!id) return false;
    const input = $(id);
    const p = $(id + "-error");
    p.textContent = text;
    p.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", id + "-error");
    return true;
  }

  $("add-customer").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearAddErrors();
    const id = $("new-customer").value.trim();
    const body = { customer: id, tenant: $("new-tenant").value.trim(), authMode: "token" };
    if ($("new-name").value.trim()) body.name = $("new-name").value.trim();
    if ($("new-account").value.trim()) body.serviceAccount = $("new-account").value.trim();
    try {
      await call("POST", "/customers", body);
      window.location = "/?customer=" + encodeURIComponent(id);
    } catch (e) {
      let placed = false;
      if (e.status === 409 && e.problem.code === "customer_exists") {
        placed = fieldError("customer", "The ID " + id + " is taken by another customer. Pick another ID, or open that customer from the list.");
      } else {
        for (const f of e.problem.fields || []) placed = fieldError(f.field, f.message) || placed;
      }
      const first = Object.values(addFields).find((fid) => $(fid).getAttribute("aria-invalid") === "true");
      if (first) $(first).focus();
      if (!placed) {
        $("add-error").textContent = "Adding the customer failed: " + e.message;
        $("add-error").hidden = false;
      }
    }
  });
  readURL();
  load();
})();
