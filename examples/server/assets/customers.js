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
  };
  const stateText = {
    connected: "Connected", degraded: "Degraded", notConnected: "Not connected", consentRequired: "Consent required",
    reauthorizationRequired: "Reauthorization required", credentialExpired: "Credential expired",
    notConfigured: "Not configured", offboarding: "Offboarding",
  };
  let cursors = [""]; // the after cursor of each page shown
  let next = "";

  function fmtTime(s) {
    if (!s) return "";
    const d = new Date(s);
    return isNaN(d) ? s : d.toLocaleString();
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

  async function load(after) {
    const q = new URLSearchParams({ limit: "25" });
    if (after) q.set("after", after);
    if ($("state-filter").value) q.set("state", $("state-filter").value);
    if ($("needs-action").checked) q.set("needsAction", "true");
    try {
      const page = await call("GET", "/customers?" + q);
      const body = $("fleet").querySelector("tbody");
      body.replaceChildren();
      for (const c of page.customers) {
        const tr = document.createElement("tr");
        tr.dataset.customer = c.customer;
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
        cell(tr, c.action ? (actionText[c.action] || c.action) : "", c.action ? "action" : "").dataset.action = c.action || "";
        cell(tr, fmtTime(c.lastValidatedAt));
        cell(tr, fmtTime(c.lastSyncAt));
        cell(tr, fmtTime(c.secretExpiresAt));
        cell(tr, fmtTime(c.nextCheckAt));
        cell(tr, fmtTime(c.nextSyncAt));
        const off = document.createElement("button");
        off.type = "button";
        off.className = "offboard";
        off.textContent = "Offboard";
        off.disabled = c.state === "offboarding";
        off.addEventListener("click", () => offboard(c.customer, c.name));
        cell(tr, off);
        body.append(tr);
      }
      $("fleet-empty").hidden = page.customers.length > 0;
      next = page.next || "";
      $("fleet-next").disabled = !next;
      $("fleet-first").disabled = cursors.length <= 1;
    } catch (e) {
      show("error", "Listing the customers failed: " + e.message);
    }
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
    if (!window.confirm("Offboard " + (name || customer) + "? This revokes and erases its tokens, secrets, invitations, QoE subscriptions, synced users and call data. The audit trail stays.")) return;
    try {
      let r = await call("DELETE", "/customers/" + encodeURIComponent(customer));
      show("ok", "Offboarding " + customer + " (job " + r.job + ").");
      showReport(customer, r);
      await load(cursors[cursors.length - 1]);
      // DELETE again is idempotent: it returns the same job and its report
      // so far. Poll until the report is final (for at most two minutes).
      for (let i = 0; i < 80 && !(r.report && r.report.finishedAt); i++) {
        await new Promise((ok) => setTimeout(ok, 1500));
        r = await call("DELETE", "/customers/" + encodeURIComponent(customer));
        showReport(customer, r);
      }
      await load(cursors[cursors.length - 1]);
    } catch (e) {
      show("error", "Offboarding failed: " + e.message);
    }
  }

  $("fleet-refresh").addEventListener("click", () => load(cursors[cursors.length - 1]));
  $("state-filter").addEventListener("change", () => { cursors = [""]; load(""); });
  $("needs-action").addEventListener("change", () => { cursors = [""]; load(""); });
  $("fleet-next").addEventListener("click", () => { cursors.push(next); load(next); });
  $("fleet-first").addEventListener("click", () => { cursors = [""]; load(""); });
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
  load("");
})();
