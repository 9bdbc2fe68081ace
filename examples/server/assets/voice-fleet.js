"use strict";

// Teams Phone across the fleet: GET /api/voice, its filters, sort and
// cursor kept in the page's URL.
(function () {
  const $ = (id) => document.getElementById(id);
  const pageSize = 50;

  // The readiness checks as a person reads them.
  const checkText = {
    accountEnabled: "account disabled",
    usageLocation: "no usage location",
    teamsPhoneLicense: "no Teams Phone license",
    enterpriseVoice: "Enterprise Voice off",
    primaryNumber: "no phone number",
    voiceRoutingPolicy: "no voice routing policy",
    callingPlanLicense: "no Calling Plan license",
    emergencyLocation: "no emergency location",
  };
  const levelText = { low: "running low", exhausted: "exhausted" };

  function fmtNumber(n) { return (n || 0).toLocaleString("en-US"); }
  function fmtTime(s) {
    if (!s) return "";
    const d = new Date(s);
    return isNaN(d) ? s : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/:\d\d UTC$/, " UTC");
  }

  function show(kind, text) {
    const m = $("message");
    m.hidden = false;
    m.className = "message " + kind;
    m.textContent = text;
  }

  async function call(path) {
    const r = await fetch("/api" + path, { credentials: "same-origin" });
    const data = (r.headers.get("Content-Type") || "").includes("json") ? await r.json() : null;
    if (!r.ok) {
      if (r.status === 401) window.location = "/login?next=" + encodeURIComponent("/voice/fleet" + window.location.search);
      throw new Error((data && (data.detail || data.title)) || ("HTTP " + r.status));
    }
    return data;
  }

  const url = new URLSearchParams(window.location.search);

  function apiQuery() {
    const q = new URLSearchParams({ limit: String(pageSize) });
    const search = (url.get("search") || "").trim();
    if (search) q.set("search", search);
    const showing = url.get("show");
    if (showing === "notReady" || showing === "low" || showing === "running") q.set(showing, "true");
    if (url.get("sort")) q.set("sort", url.get("sort"));
    if (url.get("after")) q.set("after", url.get("after"));
    return q;
  }

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function customerCell(c) {
    const a = el("a", c.name || c.customer);
    a.href = "/voice?customer=" + encodeURIComponent(c.customer);
    a.title = "Teams Phone of " + (c.name || c.customer);
    const td = el("td");
    td.append(a);
    if (c.name) td.append(el("div", c.customer, "hint"));
    return td;
  }

  function notReadyCell(c) {
    const td = el("td");
    const entries = Object.entries(c.notReady || {}).sort((x, y) => y[1] - x[1]);
    if (!entries.length) {
      td.textContent = c.summarizedAt ? "none" : "";
      td.className = "muted";
      return td;
    }
    const ul = el("ul", undefined, "checks");
    for (const [check, n] of entries) ul.append(el("li", fmtNumber(n) + " " + (checkText[check] || check)));
    td.append(ul);
    return td;
  }

  function rangesCell(c) {
    const td = el("td");
    if (!c.ranges || !c.ranges.length) {
      td.textContent = "no range";
      td.className = "muted";
      return td;
    }
    const ul = el("ul", undefined, "ranges");
    for (const r of c.ranges) {
      const li = el("li");
      li.append(el("strong", r.name), document.createTextNode(": "));
      li.append(document.createTextNode(r.level ? fmtNumber(r.free) + " free of " + fmtNumber(r.numbers) : "not in the inventory"));
      if (levelText[r.level]) {
        const b = el("span", levelText[r.level], "badge level");
        b.dataset.level = r.level;
        li.append(" ", b);
      }
      ul.append(li);
    }
    td.append(ul);
    return td;
  }

  function render(page) {
    const body = $("fleet-voice").tBodies[0];
    body.replaceChildren();
    for (const c of page.customers) {
      const tr = body.insertRow();
      tr.dataset.customer = c.customer;
      tr.append(customerCell(c));
      tr.append(el("td", c.summarizedAt ? fmtNumber(c.users) : "not counted yet", c.summarizedAt ? "num" : "muted"));
      const ready = el("td", c.summarizedAt ? fmtNumber(c.ready) : "", "num");
      tr.append(ready);
      tr.append(notReadyCell(c));
      tr.append(rangesCell(c));
      const run = el("td");
      if (c.running) {
        const a = el("a", fmtNumber(c.running));
        a.href = "/voice?customer=" + encodeURIComponent(c.customer) + "#operations";
        a.title = "Operations of " + (c.name || c.customer);
        run.append(a);
      } else {
        run.textContent = "0";
        run.className = "muted";
      }
      tr.append(run);
      tr.append(el("td", fmtTime(c.summarizedAt), "muted"));
    }
    $("fleet-empty").hidden = page.customers.length > 0;
    const here = new URLSearchParams(url);
    here.delete("after");
    $("first-page").hidden = !url.get("after");
    $("first-page").href = "?" + here;
    $("next-page").hidden = !page.next;
    if (page.next) { here.set("after", page.next); $("next-page").href = "?" + here; }
    $("page-info").textContent = fmtNumber(page.total) + (page.total === 1 ? " customer matches, " : " customers match, ") +
      pageSize + " a page" + (url.get("after") ? " (a later page)" : "") + ".";
  }

  async function load() {
    try {
      render(await call("/voice?" + apiQuery()));
    } catch (err) {
      $("fleet-voice").tBodies[0].replaceChildren();
      show("error", "The fleet's Teams Phone could not be read: " + err.message);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("f-search").value = url.get("search") || "";
    $("f-show").value = url.get("show") || "";
    $("f-sort").value = url.get("sort") || "customer";
    // Empty and default choices stay out of the URL; a new query starts
    // at the first page.
    $("vf-filter").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const q = new URLSearchParams();
      if ($("f-search").value.trim()) q.set("search", $("f-search").value.trim());
      if ($("f-show").value) q.set("show", $("f-show").value);
      if ($("f-sort").value !== "customer") q.set("sort", $("f-sort").value);
      window.location.search = q.toString();
    });
    for (const id of ["f-show", "f-sort"]) $(id).addEventListener("change", () => $("vf-filter").requestSubmit());
    load();
  });
})();
