// The tenantgate reference portal's Activity pages: the audit trail,
// events and webhook deliveries of every customer, 100 a page, filtered
// and paged by cursor through the URL; replay of a failed delivery after
// a confirmation. No inline script.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const view = document.body.dataset.view;
  const pageSize = 100;
  const types = ["connection.connected", "connection.failed", "connection.recovered", "consent.granted", "consent.missing",
    "secret.expiring", "secret.expired", "sync.succeeded", "sync.failed", "qoe.subscription.failed", "customer.offboarded",
    "voice.assigned", "voice.released", "voice.failed", "voice.range.low", "voice.range.exhausted",
    "voice.joiners", "voice.leavers"];

  // One date format: UTC, with its zone.
  function fmtTime(s) {
    if (!s) return "";
    const d = new Date(s);
    return isNaN(d) ? s : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  }

  function show(kind, text) {
    const m = $("message");
    m.hidden = false;
    m.className = "message " + kind;
    m.textContent = text;
  }

  async function call(method, path) {
    const r = await fetch("/api" + path, { method, credentials: "same-origin" });
    const data = (r.headers.get("Content-Type") || "").includes("json") ? await r.json() : null;
    if (!r.ok) {
      if (r.status === 401) window.location = "/login?next=/activity/" + view;
      const err = new Error((data && (data.detail || data.title)) || ("HTTP " + r.status));
      err.problem = data || {};
      throw err;
    }
    return data;
  }

  // The URL's filters, as the form shows them and the API takes them.
  const url = new URLSearchParams(window.location.search);
  const filterNames = { audit: ["customer", "action", "outcome", "from", "to"], events: ["customer", "type", "from", "to"],
    deliveries: ["customer", "type", "state", "from", "to"] }[view];

  function apiQuery() {
    const q = new URLSearchParams({ limit: String(pageSize) });
    for (const n of filterNames) {
      let v = (url.get(n) || "").trim();
      if (!v) continue;
      if (n === "to") {
        // The form's day is inclusive; the API's to is exclusive.
        const d = new Date(v + "T00:00:00Z");
        if (!isNaN(d)) { d.setUTCDate(d.getUTCDate() + 1); v = d.toISOString().slice(0, 10); }
      }
      q.set(n, v);
    }
    if (url.get("after")) q.set("after", url.get("after"));
    return q;
  }

  function fillForm() {
    if ($("f-type")) {
      for (const t of types) $("f-type").append(new Option(t, t));
    }
    for (const n of filterNames) {
      const el = $("f-" + n);
      if (el) el.value = url.get(n) || "";
    }
  }

  function headers(cols) {
    const tr = $("records").tHead.rows[0];
    tr.replaceChildren();
    for (const c of cols) {
      const th = document.createElement("th");
      th.textContent = c;
      tr.append(th);
    }
  }

  function row(values) {
    const tr = $("records").tBodies[0].insertRow();
    for (const v of values) {
      const td = tr.insertCell();
      if (v instanceof Node) td.append(v); else td.textContent = v === undefined || v === null ? "" : String(v);
    }
    return tr;
  }

  function customerLink(c) {
    if (!c || c.startsWith("_tenantgate.")) return c === "_tenantgate.provider" ? "(the provider's app)" : c;
    const a = document.createElement("a");
    a.href = "/?customer=" + encodeURIComponent(c);
    a.textContent = c;
    return a;
  }

  function eventDetail(d) {
    const parts = [];
    if (d.from && d.to) parts.push(d.from + " \u2192 " + d.to);
    if (d.credential) parts.push(d.credential + (d.daysLeft ? " in " + d.daysLeft + " days" : ""));
    if (d.users !== undefined) parts.push(d.users + " users");
    if (d.user) parts.push(d.user + (d.number ? " " + d.number : ""));
    if (d.error) parts.push(d.error);
    if (d.action) parts.push("action: " + d.action);
    return parts.join("; ");
  }

  // Replay: say what will happen, then send.
  let pending = null;
  function askReplay(d) {
    pending = d;
    $("replay-what").textContent = "Event " + d.eventId + " (" + d.type + " of " + d.customer + ") is sent again to the webhook endpoint \u201c" +
      d.endpoint + "\u201d: the same body and webhook-id, with a fresh set of attempts (it failed after " + d.attempts +
      " attempt" + (d.attempts === 1 ? "" : "s") + (d.lastStatus ? ", last answer HTTP " + d.lastStatus : "") +
      "). A receiver that already processed it can tell by the webhook-id. The replay is recorded in the audit trail.";
    $("replay-confirm").hidden = false;
    $("replay-yes").focus();
  }

  async function replay() {
    const d = pending;
    $("replay-confirm").hidden = true;
    if (!d) return;
    $("replay-yes").disabled = true;
    try {
      const r = await call("POST", "/customers/" + encodeURIComponent(d.customer) + "/webhooks/deliveries/" +
        encodeURIComponent(d.eventId) + "/" + encodeURIComponent(d.endpoint) + "/replay");
      show("ok", "Event " + d.eventId + " is queued for endpoint \u201c" + d.endpoint + "\u201d again (replay " + r.replays + ").");
      await load();
    } catch (err) {
      show("error", "The delivery was not replayed: " + err.message);
    } finally {
      $("replay-yes").disabled = false;
      pending = null;
    }
  }

  async function load() {
    const q = apiQuery();
    const body = $("records").tBodies[0];
    let items = [], next = "";
    try {
      if (view === "audit") {
        headers(["When", "Customer", "Who", "Action", "Outcome", "Request ID", "Detail"]);
        const r = await call("GET", "/audit?" + q);
        body.replaceChildren();
        items = r.entries; next = r.next;
        for (const a of items) {
          row([fmtTime(a.occurredAt), customerLink(a.customer), a.actor, a.action, a.outcome, a.requestId, a.detail]).dataset.outcome = a.outcome;
        }
      } else if (view === "events") {
        headers(["When", "Customer", "Event", "Details", "ID"]);
        const r = await call("GET", "/events?" + q);
        body.replaceChildren();
        items = r.events; next = r.next;
        for (const e of items) {
          row([fmtTime(e.occurredAt), customerLink(e.data.customer), e.type, eventDetail(e.data), e.id]).dataset.type = e.type;
        }
      } else {
        headers(["Recorded", "Customer", "Event", "Endpoint", "Outcome", "Attempts", "Last answer", "Updated", ""]);
        const r = await call("GET", "/webhooks/deliveries?" + q);
        body.replaceChildren();
        items = r.deliveries; next = r.next;
        for (const d of items) {
          let action = "";
          if (d.state === "failed") {
            action = document.createElement("button");
            action.type = "button";
            action.className = "replay";
            action.dataset.needs = "operator";
            action.textContent = "Replay\u2026";
            action.setAttribute("aria-label", "Replay event " + d.eventId + " to " + d.endpoint);
            action.addEventListener("click", () => askReplay(d));
          }
          const last = (d.lastStatus ? "HTTP " + d.lastStatus : "") + (d.lastError ? (d.lastStatus ? ": " : "") + d.lastError : "");
          const tr = row([fmtTime(d.createdAt), customerLink(d.customer), d.type + " " + d.eventId, d.endpoint, d.state,
            d.attempts + (d.replays ? " (replayed " + d.replays + "\u00d7)" : ""), last, fmtTime(d.updatedAt), action]);
          tr.dataset.state = d.state;
        }
      }
    } catch (err) {
      body.replaceChildren();
      show("error", "The list could not be read: " + err.message);
      return;
    }
    $("records-empty").hidden = items.length > 0;
    const here = new URLSearchParams(url);
    here.delete("after");
    $("first-page").hidden = !url.get("after");
    $("first-page").href = "?" + here;
    $("next-page").hidden = !next;
    if (next) { here.set("after", next); $("next-page").href = "?" + here; }
    $("page-info").textContent = items.length + " shown, newest first, " + pageSize + " a page" + (url.get("after") ? " (a later page)" : "") + ".";
  }

  document.addEventListener("DOMContentLoaded", () => {
    fillForm();
    // Empty filters stay out of the URL.
    $("activity-filter").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const q = new URLSearchParams();
      for (const n of filterNames) {
        const el = $("f-" + n);
        if (el && el.value.trim()) q.set(n, el.value.trim());
      }
      window.location.search = q.toString();
    });
    $("replay-yes").addEventListener("click", replay);
    $("replay-no").addEventListener("click", () => { $("replay-confirm").hidden = true; pending = null; });
    load();
  });
})();
