// Teams Phone in the reference portal: the Numbers page (ranges, numbers,
// refresh), the Voice page of one user (readiness, assign, release,
// policies) and the operations with their live progress. It calls the
// admin API under /api with the session cookie (HttpOnly; this script never
// sees a token), like app.js. No inline script, no dependencies. Each part
// starts only when its elements are on the page, so a page (or a tab) can
// host any of them.
"use strict";

(function () {
  const customer = document.body.dataset.customer;
  const api = "/api/customers/" + encodeURIComponent(customer);
  const $ = (id) => document.getElementById(id);

  const typeNames = { directRouting: "Direct Routing", callingPlan: "Calling Plan", operatorConnect: "Operator Connect" };
  const checkNames = {
    accountEnabled: "Account enabled", usageLocation: "Usage location", teamsPhoneLicense: "Teams Phone license",
    enterpriseVoice: "Enterprise Voice", primaryNumber: "Primary number", voiceRoutingPolicy: "Voice routing policy",
    callingPlanLicense: "Calling Plan license", emergencyLocation: "Emergency location", permissions: "Permissions",
  };
  const actionText = {
    assignLicense: "Assign the license: Assign below with \u201cAssign the licenses the number needs\u201d checked.",
    assignNumber: "Assign a number below (the next free one of a range, or a specific one).",
    assignPolicy: "Set the voice routing policy below (for example VRP-{location}).",
    setLocation: "Give the number an emergency location (the range's location, or Teams admin center).",
    setUsageLocation: "Set the user's usage location in Microsoft 365 admin center (licenses need it).",
    enableAccount: "Enable the account in Microsoft 365 admin center.",
    grantConsent: "Grant the Teams Phone permissions: send a new invitation (Microsoft 365 settings) and accept them.",
  };
  const stepNames = { license: "Licenses", number: "Number" };
  const kindNames = { set: "Set voice", release: "Release", apply: "Apply a plan", refresh: "Read numbers" };
  const kindName = (k) => kindNames[k] || k;

  // fmtTime writes every time of the portal one way, in UTC, saying so.
  function fmtTime(s) {
    if (!s) return "";
    const d = new Date(s);
    return isNaN(d) ? s : d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }
  function fmtNumber(n) {
    return Number(n).toLocaleString("en-US");
  }
  function stepName(s) {
    if (stepNames[s]) return stepNames[s];
    if (s.startsWith("policy:")) return "Policy " + s.slice(7);
    return s;
  }

  // show writes a message in the Voice tab's own area on the customer
  // page (near the action), the page's message area elsewhere.
  function show(kind, text) {
    const m = $("voice-message") || $("message");
    m.hidden = false;
    m.className = "message " + kind;
    m.textContent = text;
  }
  function hideMessage() {
    ($("voice-message") || $("message")).hidden = true;
  }

  class APIError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || "HTTP " + status);
      this.status = status;
      this.problem = problem;
    }
  }

  // call sends body as JSON, or as it is with contentType (a CSV).
  async function call(method, path, body, contentType) {
    const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (body !== undefined) {
      init.headers["Content-Type"] = contentType || "application/json";
      init.body = contentType ? body : JSON.stringify(body);
    }
    const resp = await fetch(path.startsWith("/api/") ? path : api + path, init);
    if (resp.status === 401) {
      window.location.assign("/login");
      throw new APIError(401, null);
    }
    let data = null;
    if ((resp.headers.get("Content-Type") || "").includes("json")) data = await resp.json();
    if (!resp.ok) throw new APIError(resp.status, data);
    return { data, resp };
  }

  // problemText is a problem's detail with the action that fixes it.
  function problemText(what, e) {
    let text = what + " failed: " + e.message + ".";
    const p = e.problem;
    if (p && p.action && actionText[p.action]) text += " " + actionText[p.action];
    return text;
  }

  // run performs an action, reporting failures in the page's message area.
  async function run(what, fn) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof APIError && e.status === 401)) show("error", e instanceof APIError ? problemText(what, e) : what + " failed: " + e.message);
      return undefined;
    }
  }

  function busy(button, on) {
    button.disabled = on;
    button.classList.toggle("busy", on);
  }

  function cells(tr, values) {
    for (const v of values) tr.insertCell().textContent = v === undefined || v === null ? "" : String(v);
  }

  // Field errors: the message under the field, the field aria-invalid and
  // described by it.
  function setFieldError(id, text) {
    const input = $(id);
    const msg = $(id + "-error");
    if (!input || !msg) return false;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", msg.id);
    msg.textContent = text;
    msg.hidden = false;
    input.focus();
    return true;
  }
  function clearErrors(form) {
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    for (const el of form.querySelectorAll(".field-error, .form-error")) {
      el.hidden = true;
      el.textContent = "";
    }
  }

  let ranges = [];
  async function loadRanges() {
    const r = await call("GET", "/voice/ranges");
    ranges = r.data.ranges || [];
    return ranges;
  }

  // ---- Operations: list, detail with live progress, cancel ----

  let opTimer = 0;
  let opShown = "";
  let opsCursor = "";
  let onOperationDone = null;

  function renderOperation(op) {
    $("op-card").hidden = false;
    $("op-id").textContent = op.id;
    const pct = Math.round((op.progress || 0) * 100);
    $("op-progress").value = pct;
    $("op-progress").setAttribute("aria-valuetext", pct + "%");
    const st = $("op-state");
    st.textContent = op.state;
    st.dataset.state = op.state;
    $("op-summary").textContent = kindName(op.kind) + ": " + pct + "% \u2014 " +
      op.succeeded + " of " + op.total + " users succeeded" + (op.failed ? ", " + op.failed + " failed" : "") +
      (op.finishedAt ? ", finished " + fmtTime(op.finishedAt) : "");
    const body = $("op-steps").tBodies[0];
    body.replaceChildren();
    for (const it of op.items || []) {
      for (const s of it.steps || []) {
        const tr = body.insertRow();
        tr.dataset.step = s.step;
        tr.dataset.status = s.status;
        cells(tr, [it.user, stepName(s.step), s.status, s.number, s.detail]);
      }
    }
    $("op-cancel").hidden = op.state !== "queued" && op.state !== "running";
    $("op-cancel-hint").hidden = $("op-cancel").hidden;
    if ($("op-cancel").hidden) $("op-cancel-confirm").hidden = true;
  }

  async function pollOperation(id) {
    clearTimeout(opTimer);
    opShown = id;
    let op;
    try {
      op = (await call("GET", "/voice/operations/" + encodeURIComponent(id))).data;
    } catch (e) {
      if (!(e instanceof APIError && e.status === 401)) show("error", "Reading the operation failed: " + e.message);
      return;
    }
    if (opShown !== id) return;
    renderOperation(op);
    if (op.state === "queued" || op.state === "running") {
      opTimer = setTimeout(() => pollOperation(id), 500);
      return;
    }
    loadOperations("");
    if (onOperationDone) onOperationDone(op);
  }

  function showOperation(id, started) {
    pollOperation(id);
    if (started) loadOperations("");
    const u = new URL(window.location.href);
    u.searchParams.set("operation", id);
    history.replaceState(null, "", u);
  }

  async function loadOperations(after) {
    const tbl = $("ops");
    if (!tbl) return;
    await run("Listing the operations", async () => {
      const q = new URLSearchParams({ limit: "10" });
      if (after) q.set("after", after);
      const page = (await call("GET", "/voice/operations?" + q)).data;
      const body = tbl.tBodies[0];
      if (!after) body.replaceChildren();
      const only = document.body.dataset.user;
      for (const op of page.operations) {
        const users = (op.items || []).map((i) => i.user);
        if (only && !users.some((u) => u.toLowerCase() === only.toLowerCase())) continue;
        const tr = body.insertRow();
        tr.dataset.state = op.state;
        const pct = Math.round((op.progress || 0) * 100) + "%";
        cells(tr, [fmtTime(op.createdAt), kindName(op.kind), users.length && users.length <= 3 ? users.join(", ") : plural(op.total, "user"), op.state, pct, op.actor]);
        if (op.kind === "apply") {
          // A plan's apply has its own page: progress and per-user results.
          const a = document.createElement("a");
          a.className = "button";
          a.href = "/voice/operation?" + new URLSearchParams({ customer, id: op.id });
          a.textContent = "Details";
          a.setAttribute("aria-label", "Details of operation " + op.id);
          tr.insertCell().append(a);
          continue;
        }
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = "Details";
        b.setAttribute("aria-label", "Details of operation " + op.id);
        b.addEventListener("click", () => showOperation(op.id));
        tr.insertCell().append(b);
      }
      opsCursor = page.next || "";
      $("ops-more").hidden = !opsCursor;
      $("ops-empty").hidden = body.rows.length > 0;
    });
  }

  function initOperations() {
    if (!$("ops")) return;
    $("ops-refresh").addEventListener("click", () => loadOperations(""));
    $("ops-more").addEventListener("click", () => loadOperations(opsCursor));
    $("op-close").addEventListener("click", () => {
      clearTimeout(opTimer);
      opShown = "";
      $("op-card").hidden = true;
      const u = new URL(window.location.href);
      u.searchParams.delete("operation");
      history.replaceState(null, "", u);
    });
    $("op-cancel").addEventListener("click", () => {
      $("op-cancel-what").textContent = "Cancel operation " + opShown + "? Its steps not started yet will not run; a step already sent to Microsoft runs to its end, and what is done stays done.";
      $("op-cancel-confirm").hidden = false;
      $("op-cancel-no").focus();
    });
    $("op-cancel-no").addEventListener("click", () => { $("op-cancel-confirm").hidden = true; });
    $("op-cancel-yes").addEventListener("click", async (ev) => {
      const id = opShown;
      const button = ev.currentTarget;
      busy(button, true);
      await run("Cancelling the operation", async () => {
        const op = (await call("POST", "/voice/operations/" + encodeURIComponent(id) + "/cancel")).data;
        $("op-cancel-confirm").hidden = true;
        renderOperation(op);
        show("ok", "Operation " + id + " is " + op.state + ": steps not started will not run.");
      });
      busy(button, false);
      pollOperation(id);
    });
    loadOperations("");
    const id = new URLSearchParams(window.location.search).get("operation");
    if (id) pollOperation(id);
  }

  // ---- Numbers page ----

  let numbersCursor = "";
  let numbersAfter = "";

  function rangeText(r) {
    return r.from + " \u2013 " + r.to;
  }

  async function showRanges() {
    const rs = await loadRanges();
    const body = $("ranges").tBodies[0];
    body.replaceChildren();
    const sel = $("nf-range");
    const keep = sel.value;
    sel.replaceChildren(new Option("Any range", ""));
    for (const r of rs) {
      const tr = body.insertRow();
      tr.dataset.range = r.name;
      const name = tr.insertCell();
      const a = document.createElement("button");
      a.type = "button";
      a.className = "link-button";
      a.textContent = r.name;
      a.setAttribute("aria-label", "Show the free numbers of range " + r.name);
      a.addEventListener("click", () => {
        $("nf-range").value = r.name;
        $("nf-status").value = "unassigned";
        loadNumbers("");
      });
      name.append(a);
      cells(tr, [rangeText(r), typeNames[r.type] || r.type]);
      for (const [k, v] of [["free", r.free], ["assigned", r.assigned], ["quarantined", r.quarantined], ["reserved", r.reserved], ["numbers", r.numbers]]) {
        const td = tr.insertCell();
        td.className = "num";
        td.dataset[k] = String(v);
        td.textContent = fmtNumber(v);
      }
      cells(tr, [r.quarantineDays + " days"]);
      sel.append(new Option(r.name, r.name));
    }
    sel.value = keep;
    $("ranges-empty").hidden = rs.length > 0;
  }

  function numberQuery(after) {
    const q = new URLSearchParams({ limit: "25" });
    for (const [k, id] of [["status", "nf-status"], ["type", "nf-type"], ["range", "nf-range"]]) {
      if ($(id).value) q.set(k, $(id).value);
    }
    const s = $("nf-search").value.trim().replace(/[\s\-().]/g, "");
    if (s) q.set("prefix", s.startsWith("+") ? s : "+" + s);
    if (after) q.set("after", after);
    return q;
  }

  async function loadNumbers(after) {
    const form = $("numbers-filter");
    clearErrors(form);
    const s = $("nf-search").value.trim();
    if (s && !/^\+?[0-9\s\-().]{1,20}$/.test(s)) {
      setFieldError("nf-search", "Type the start of a number in digits, for example +3902.");
      return;
    }
    await run("Listing the numbers", async () => {
      let page;
      try {
        page = (await call("GET", "/voice/numbers?" + numberQuery(after))).data;
      } catch (e) {
        if (e instanceof APIError && e.problem && Array.isArray(e.problem.fields) && e.problem.fields.some((f) => f.field === "prefix")) {
          setFieldError("nf-search", e.message);
          return;
        }
        throw e;
      }
      numbersAfter = after;
      const total = $("numbers-total");
      total.textContent = fmtNumber(page.total);
      total.dataset.total = String(page.total);
      const parts = [];
      if ($("nf-status").value) parts.push($("nf-status").selectedOptions[0].text.toLowerCase());
      if ($("nf-type").value) parts.push(typeNames[$("nf-type").value]);
      parts.push(page.total === 1 ? "number" : "numbers");
      if ($("nf-range").value) parts.push("in range " + $("nf-range").value);
      if (s) parts.push("starting with " + s);
      $("numbers-total-label").textContent = parts.join(" ");
      const body = $("numbers").tBodies[0];
      body.replaceChildren();
      let refreshed = "";
      for (const n of page.numbers) {
        const tr = body.insertRow();
        tr.dataset.number = n.number;
        tr.dataset.status = n.status;
        tr.insertCell().textContent = n.number;
        const held = n.status === "assigned" ? "" : n.quarantinedUntil ? "quarantined until " + fmtTime(n.quarantinedUntil) : n.reserved ? "reserved" : "";
        cells(tr, [typeNames[n.type] || n.type, n.status === "assigned" ? "assigned" : held ? "unassigned" : "free"]);
        const user = tr.insertCell();
        if (n.user) {
          const a = document.createElement("a");
          a.href = "/voice/user?customer=" + encodeURIComponent(customer) + "&user=" + encodeURIComponent(n.user.userPrincipalName || n.user.id);
          a.textContent = n.user.userPrincipalName || n.user.id;
          user.append(a);
        }
        cells(tr, [n.city, n.range, held]);
        if (held) tr.cells[6].className = "held";
        if (n.refreshedAt && n.refreshedAt > refreshed) refreshed = n.refreshedAt;
      }
      if (refreshed) $("refreshed").textContent = "read from Microsoft " + fmtTime(refreshed);
      numbersCursor = page.next || "";
      $("numbers-next").disabled = !numbersCursor;
      $("numbers-first").disabled = !after;
    });
  }

  function initNumbers() {
    if (!$("numbers")) return;
    $("numbers-filter").addEventListener("submit", (ev) => {
      ev.preventDefault();
      loadNumbers("");
    });
    for (const id of ["nf-status", "nf-type", "nf-range"]) $(id).addEventListener("change", () => loadNumbers(""));
    $("numbers-next").addEventListener("click", () => loadNumbers(numbersCursor));
    $("numbers-first").addEventListener("click", () => loadNumbers(""));
    $("numbers-refresh").addEventListener("click", async (ev) => {
      busy(ev.target, true);
      show("ok", "Reading every number from Microsoft\u2026");
      await run("Reading the numbers from Microsoft", async () => {
        // The read is an operation (202): follow it to its end.
        let op = (await call("POST", "/voice/numbers/refresh")).data;
        while (op.state === "queued" || op.state === "running") {
          await new Promise((done) => setTimeout(done, 1000));
          op = (await call("GET", "/voice/operations/" + encodeURIComponent(op.id))).data;
        }
        const step = op.items[0].steps[0];
        if (op.state !== "succeeded") throw new Error(step.detail || "the read ended " + op.state);
        show("ok", "Read " + step.detail.replace(" read", "") + " from Microsoft at " + fmtTime(op.finishedAt) + ".");
        await showRanges();
        await loadNumbers(numbersAfter);
      });
      busy(ev.target, false);
    });
    run("Reading the ranges", showRanges).then(() => loadNumbers(""));
  }

  // ---- One user's Voice page ----

  const user = document.body.dataset.user;
  let current = null; // the user's voice as last read

  function policyName(v) {
    return v === null || v === undefined ? "Global" : v;
  }

  async function loadUser() {
    const r = await run("Reading the user's Teams Phone", async () => (await call("GET", "/users/" + encodeURIComponent(user) + "/voice")).data);
    if (!r) return;
    current = r;
    const badge = $("vu-ready");
    badge.textContent = r.ready ? "ready" : "not ready";
    badge.dataset.state = r.ready ? "ready" : "notReady";
    const failed = (r.checks || []).filter((c) => !c.ok);
    $("vu-summary").textContent = r.ready ? "The user can call the phone network." :
      failed.length + " check" + (failed.length === 1 ? "" : "s") + " failed; the first to fix: " + (checkNames[failed[0].name] || failed[0].name) + ".";
    const body = $("vu-checks").tBodies[0];
    body.replaceChildren();
    for (const c of r.checks || []) {
      const tr = body.insertRow();
      tr.dataset.check = c.name;
      tr.dataset.ok = String(c.ok);
      cells(tr, [checkNames[c.name] || c.name, c.ok ? "OK" : "Failed", c.detail]);
      tr.cells[1].className = c.ok ? "ok" : "error";
      const td = tr.insertCell();
      if (!c.ok && c.action) {
        td.className = "action";
        td.dataset.action = c.action;
        td.textContent = actionText[c.action] || c.action;
      }
    }
    const dl = $("vu-now");
    dl.replaceChildren();
    const add = (k, v) => {
      const dt = document.createElement("dt");
      dt.textContent = k;
      const dd = document.createElement("dd");
      dd.textContent = v;
      dl.append(dt, dd);
    };
    add("User", r.user.userPrincipalName + (r.accountEnabled ? "" : " (disabled)"));
    add("Usage location", r.usageLocation || "none");
    add("Licenses", (r.licenses || []).join(", ") || "none");
    add("Enterprise Voice", r.enterpriseVoiceEnabled ? "on" : "off");
    add("Numbers", (r.numbers || []).map((n) => n.number + " (" + (typeNames[n.type] || n.type) + ", " + n.category + ")").join(", ") || "none");
    const pol = r.policies || {};
    for (const t of ["OnlineVoiceRoutingPolicy", "TenantDialPlan", "TeamsCallingPolicy"]) add(t, policyName(pol[t]));
    // Suggestions: the policies of the user's usage location.
    if (r.usageLocation) {
      $("vrp-names").replaceChildren(new Option("VRP-" + r.usageLocation), new Option("Global"));
      $("dp-names").replaceChildren(new Option("DP-" + r.usageLocation), new Option("Global"));
    }
    describeRelease();
  }

  function numberRange(number) {
    return ranges.find((r) => number.length === r.from.length && number >= r.from && number <= r.to);
  }

  // describeRelease says what Release does for this user, now.
  function describeRelease() {
    const list = [];
    const nums = current ? current.numbers || [] : [];
    if (nums.length === 0) list.push("The user holds no number; nothing to unassign.");
    for (const n of nums) {
      const r = numberRange(n.number);
      list.push(r ? "Unassign " + n.number + "; it goes to quarantine in range " + r.name + " for " + r.quarantineDays + " days (next skips it until then)."
        : "Unassign " + n.number + " (in no range of the provider: no quarantine).");
    }
    const pol = current ? current.policies || {} : {};
    const direct = Object.entries(pol).filter(([, v]) => v !== null && v !== undefined).map(([t, v]) => t + " " + v);
    list.push(direct.length ? "Remove the direct policy assignments: " + direct.join(", ") + " (the Global policies apply)." : "No direct voice policy to remove.");
    if ($("rl-licenses").checked) {
      const lic = current ? (current.licenses || []).filter((l) => ["MCOEV", "MCOPSTN1", "MCOPSTN2", "MCOPSTN_5"].includes(l)) : [];
      list.push(lic.length ? "Remove the voice licenses " + lic.join(", ") + " (their units become free)." : "The user has no voice license to remove.");
    } else {
      list.push("Keep the licenses.");
    }
    const ul = $("release-confirm-text");
    ul.replaceChildren();
    for (const t of list) {
      const li = document.createElement("li");
      li.textContent = t;
      ul.append(li);
    }
    $("release-what").textContent = nums.length ? "Unassigns " + nums.map((n) => n.number).join(", ") + " (to quarantine) and removes the direct voice policies." :
      "Removes the direct voice policies (the user holds no number).";
  }

  // fieldOf maps a problem's JSON pointer to the form field.
  const fieldIDs = {
    "/number": "as-number", "/range": "as-range", "/licenses": "as-licenses", "/policies": "as-vrp",
    "/policies/OnlineVoiceRoutingPolicy": "as-vrp", "/policies/TenantDialPlan": "as-dp", "/policies/TeamsCallingPolicy": "as-cp",
  };

  // placeProblem shows a problem's field errors under their inputs (ids:
  // the API's field name -> input ID; fallback: the input of any other
  // field) and the problem in the box boxID.
  function placeProblem(ids, boxID, what, e, fallback) {
    let placed = false;
    if (e instanceof APIError && e.problem && Array.isArray(e.problem.fields)) {
      for (const f of e.problem.fields) {
        const id = ids(f.field) || fallback;
        if (id && setFieldError(id, f.message)) placed = true;
      }
    }
    const box = $(boxID);
    box.hidden = false;
    if (box.classList.contains("message")) box.className = "message error";
    box.textContent = e instanceof APIError ? problemText(what, e) + (placed ? " Nothing was changed." : "") : what + " failed: " + e.message;
  }

  function showFormProblem(form, boxID, what, e) {
    placeProblem((field) => {
      const id = fieldIDs[field];
      return id === "as-number" && $("as-mode-next").checked ? "as-range" : id;
    }, boxID, what, e);
  }

  async function assign(ev) {
    ev.preventDefault();
    const form = $("assign-form");
    clearErrors(form);
    hideMessage();
    const body = {};
    if ($("as-mode-next").checked) {
      if (!$("as-range").value) {
        setFieldError("as-range", "Choose a range.");
        return;
      }
      body.number = "next";
      body.range = $("as-range").value;
    } else {
      const n = $("as-number").value.trim().replace(/[\s\-().]/g, "");
      if (!/^\+[1-9][0-9]{6,14}$/.test(n)) {
        setFieldError("as-number", "Type the number in E.164: + and the country code, for example +39020000004.");
        return;
      }
      body.number = n;
    }
    const policies = {};
    for (const [t, id] of [["OnlineVoiceRoutingPolicy", "as-vrp"], ["TenantDialPlan", "as-dp"], ["TeamsCallingPolicy", "as-cp"]]) {
      const v = $(id).value.trim();
      if (v) policies[t] = v;
    }
    if (Object.keys(policies).length) body.policies = policies;
    if ($("as-licenses").checked) body.licenses = "auto";
    const button = $("assign");
    busy(button, true);
    try {
      const r = await call("PUT", "/users/" + encodeURIComponent(user) + "/voice", body);
      const op = r.data;
      if (r.resp.status === 200) show("ok", "Nothing to do: the user already has this number and these policies.");
      else show("ok", "Assigning: operation " + op.id + " follows Microsoft's steps below.");
      showOperation(op.id, true);
    } catch (e) {
      if (!(e instanceof APIError && e.status === 401)) showFormProblem(form, "assign-error", "Assign", e);
    } finally {
      busy(button, false);
    }
  }

  async function release() {
    const box = $("release-error");
    box.hidden = true;
    $("release-confirm").hidden = true;
    const button = $("release");
    busy(button, true);
    try {
      const q = $("rl-licenses").checked ? "?licenses=remove" : "";
      const r = await call("DELETE", "/users/" + encodeURIComponent(user) + "/voice" + q);
      if (r.resp.status === 200) show("ok", "Nothing to release.");
      else show("ok", "Releasing: operation " + r.data.id + " follows Microsoft's steps below.");
      showOperation(r.data.id, true);
    } catch (e) {
      if (!(e instanceof APIError && e.status === 401)) {
        box.hidden = false;
        box.textContent = problemText("Release", e);
      }
    } finally {
      busy(button, false);
      button.focus();
    }
  }

  // fillRanges lists the ranges, with their free numbers, for "next".
  async function fillRanges() {
    const rs = await loadRanges();
    const sel = $("as-range");
    const keep = sel.value;
    sel.replaceChildren();
    for (const r of rs) sel.append(new Option(r.name + " \u2014 " + fmtNumber(r.free) + " free " + (typeNames[r.type] || r.type) + " numbers", r.name));
    if (keep) sel.value = keep;
  }

  function syncMode() {
    const next = $("as-mode-next").checked;
    $("as-range-row").hidden = !next;
    $("as-number-row").hidden = next;
  }

  async function initUser() {
    if (!$("voice-panel")) return;
    $("as-mode-next").addEventListener("change", syncMode);
    $("as-mode-specific").addEventListener("change", syncMode);
    $("assign-form").addEventListener("submit", assign);
    $("vu-reload").addEventListener("click", loadUser);
    $("rl-licenses").addEventListener("change", describeRelease);
    $("release").addEventListener("click", () => {
      describeRelease();
      $("release-confirm").hidden = false;
      $("release-yes").focus();
    });
    $("release-no").addEventListener("click", () => {
      $("release-confirm").hidden = true;
      $("release").focus();
    });
    $("release-yes").addEventListener("click", release);
    onOperationDone = (op) => {
      if (op.state === "succeeded") show("ok", (op.kind === "release" ? "Released" : "Assigned") + ": every step succeeded.");
      else show("error", "Operation " + op.id + " ended " + op.state + ": see each step's detail below; assigning again resumes and skips what is already done.");
      loadUser();
      run("Reading the ranges", fillRanges);
    };
    await run("Reading the ranges", fillRanges);
    syncMode();
    await loadUser();
  }

  // ---- Voice tab of the customer page: numbers, ranges, profiles, plans ----

  const profileFieldIDs = {
    "/name": "pf-name", "/range": "pf-range", "/numberType": "pf-type", "/licenses": "pf-licenses", "/locationId": "pf-location",
    "/filter": "pf-filter", "/policies": "pf-vrp", "/policies/OnlineVoiceRoutingPolicy": "pf-vrp",
    "/policies/TenantDialPlan": "pf-dp", "/policies/TeamsCallingPolicy": "pf-tcp",
  };
  const policyInputs = [["OnlineVoiceRoutingPolicy", "pf-vrp"], ["TenantDialPlan", "pf-dp"], ["TeamsCallingPolicy", "pf-tcp"]];
  let profiles = [];
  let editing = ""; // the profile the form edits, "" for a new one
  let deleting = "";

  function planURL(id) {
    return "/voice/plan?" + new URLSearchParams({ customer, id });
  }

  function policiesText(pol) {
    const parts = Object.entries(pol || {}).map(([t, n]) => t + " " + n);
    return parts.length ? parts.join(", ") : "\u2014";
  }
  function profileNumbers(p) {
    if (p.range) return "Next free of range " + p.range;
    if (p.numberType) return "Next free " + (typeNames[p.numberType] || p.numberType);
    return "No number";
  }
  function automationText(p) {
    const on = [];
    if (p.joiners) on.push("joiners");
    if (p.leavers) on.push("leavers");
    if (!on.length) return "Off";
    return on.join(" and ") + (p.dryRun ? " (dry run: report only)" : "");
  }

  async function loadVoiceSummary() {
    const count = async (status) => {
      const q = new URLSearchParams({ limit: "1" });
      if (status) q.set("status", status);
      return (await call("GET", "/voice/numbers?" + q)).data.total;
    };
    const [total, assigned, free, rs] = await Promise.all([count(""), count("assigned"), count("unassigned"), loadRanges()]);
    for (const [id, v] of [["vt-total", total], ["vt-assigned", assigned], ["vt-free", free]]) {
      $(id).textContent = fmtNumber(v);
      $(id).dataset.value = String(v);
    }
    const body = $("vt-ranges").tBodies[0];
    body.replaceChildren();
    for (const r of rs) {
      const tr = body.insertRow();
      tr.dataset.range = r.name;
      cells(tr, [r.name, rangeText(r), typeNames[r.type] || r.type]);
      for (const [k, v] of [["free", r.free], ["assigned", r.assigned], ["quarantined", r.quarantined]]) {
        const td = tr.insertCell();
        td.className = "num";
        td.dataset[k] = String(v);
        td.textContent = fmtNumber(v);
      }
    }
    $("vt-ranges-empty").hidden = rs.length > 0;
    const sel = $("pf-range");
    const keep = sel.value;
    sel.replaceChildren(...rs.map((r) => new Option(r.name + " (" + (typeNames[r.type] || r.type) + ", " + fmtNumber(r.free) + " free)", r.name)));
    if (keep) sel.value = keep;
  }

  function rowButton(text, label, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.setAttribute("aria-label", label);
    b.dataset.needs = "operator";
    b.addEventListener("click", onClick);
    return b;
  }

  async function loadProfiles() {
    profiles = (await call("GET", "/voice/profiles")).data.profiles || [];
    const body = $("profiles").tBodies[0];
    body.replaceChildren();
    for (const p of profiles) {
      const tr = body.insertRow();
      tr.dataset.profile = p.name;
      cells(tr, [p.name, profileNumbers(p), p.licenses === "auto" ? "auto" : "none", policiesText(p.policies)]);
      const f = tr.insertCell();
      if (p.filter) {
        const c = document.createElement("code");
        c.textContent = p.filter;
        f.append(c);
      } else f.textContent = "Named by each plan";
      cells(tr, [automationText(p), fmtTime(p.updatedAt)]);
      const act = tr.insertCell();
      act.className = "actions";
      act.append(
        rowButton("Plan", "Plan profile " + p.name + " (changes nothing)", (ev) => planProfile(p.name, "", ev.currentTarget)),
        rowButton("Edit", "Edit profile " + p.name, () => openProfileForm(p)),
        rowButton("Delete\u2026", "Delete profile " + p.name, () => askDeleteProfile(p)),
      );
    }
    $("profiles-empty").hidden = profiles.length > 0;
    const sel = $("pl-profile");
    const keep = sel.value;
    sel.replaceChildren(...profiles.map((p) => new Option(p.name, p.name)));
    if (!profiles.length) sel.append(new Option("No profile yet: create one below", ""));
    if (keep) sel.value = keep;
  }

  function syncProfileMode() {
    $("pf-range").disabled = !$("pf-mode-range").checked;
    $("pf-type").disabled = !$("pf-mode-type").checked;
  }

  function openProfileForm(p) {
    const form = $("profile-form");
    clearErrors(form);
    editing = p ? p.name : "";
    $("profile-form-title").textContent = p ? "Edit profile " + p.name : "New profile";
    $("pf-name").value = p ? p.name : "";
    $("pf-name").readOnly = !!p;
    $("pf-mode-range").checked = !p || !!p.range || (!p.numberType && !p.range && false);
    $("pf-mode-type").checked = !!p && !p.range && !!p.numberType;
    $("pf-mode-none").checked = !!p && !p.range && !p.numberType;
    if (p && p.range) $("pf-range").value = p.range;
    if (p && p.numberType) $("pf-type").value = p.numberType;
    $("pf-licenses").checked = !p || p.licenses === "auto";
    $("pf-location").value = p ? p.locationId || "" : "";
    for (const [t, id] of policyInputs) $(id).value = (p && p.policies && p.policies[t]) || "";
    $("pf-filter").value = p ? p.filter || "" : "";
    $("pf-joiners").checked = !!p && p.joiners;
    $("pf-leavers").checked = !!p && p.leavers;
    $("pf-dryrun").checked = !!p && p.dryRun;
    syncProfileMode();
    form.hidden = false;
    form.scrollIntoView({ block: "start" });
    $(p ? "pf-mode-range" : "pf-name").focus();
  }

  async function saveProfile(ev) {
    ev.preventDefault();
    const form = $("profile-form");
    clearErrors(form);
    const name = $("pf-name").value.trim();
    if (!name) {
      setFieldError("pf-name", "A profile needs a name (letters, digits, spaces, - _ .).");
      return;
    }
    const body = { locationId: $("pf-location").value.trim(), filter: $("pf-filter").value.trim(),
      joiners: $("pf-joiners").checked, leavers: $("pf-leavers").checked, dryRun: $("pf-dryrun").checked };
    if ($("pf-mode-range").checked) body.range = $("pf-range").value;
    if ($("pf-mode-type").checked) body.numberType = $("pf-type").value;
    if ($("pf-licenses").checked) body.licenses = "auto";
    const policies = {};
    for (const [t, id] of policyInputs) if ($(id).value.trim()) policies[t] = $(id).value.trim();
    if (Object.keys(policies).length) body.policies = policies;
    const button = $("profile-save");
    busy(button, true);
    try {
      await call("PUT", "/voice/profiles/" + encodeURIComponent(name), body);
      form.hidden = true;
      show("ok", "Profile " + name + (editing ? " saved." : " created.") + " Plan it to see what it would change; nothing changes until you apply a plan.");
      await run("Reading the profiles", loadProfiles);
      $("pl-profile").value = name;
    } catch (e) {
      if (!(e instanceof APIError && e.status === 401)) placeProblem((f) => profileFieldIDs[f], "profile-form-error", "Saving profile " + name, e);
    } finally {
      busy(button, false);
    }
  }

  function askDeleteProfile(p) {
    deleting = p.name;
    $("profile-delete-what").textContent = "Delete profile " + p.name + "? tenantgate forgets its settings" +
      (p.joiners || p.leavers ? " and stops its " + automationText(p).replace(" (dry run: report only)", "") + " after each sync" : "") +
      ". Nothing changes at Microsoft: its users keep their numbers, licenses and policies.";
    $("profile-delete-yes").textContent = "Delete profile " + p.name;
    $("profile-delete-confirm").hidden = false;
    $("profile-delete-no").focus();
  }

  async function deleteProfile(ev) {
    const name = deleting;
    const button = ev.currentTarget;
    busy(button, true);
    await run("Deleting profile " + name, async () => {
      await call("DELETE", "/voice/profiles/" + encodeURIComponent(name));
      $("profile-delete-confirm").hidden = true;
      if (editing === name) $("profile-form").hidden = true;
      show("ok", "Profile " + name + " deleted. Nothing changed at Microsoft.");
      await loadProfiles();
    });
    busy(button, false);
  }

  // makePlan posts a plan (JSON from a profile, or a CSV) and opens it.
  async function makePlan(body, contentType, button, ids, boxID, fallback) {
    boxID = $(boxID) ? boxID : "message";
    busy(button, true);
    try {
      const plan = (await call("POST", "/voice/plans", body, contentType)).data;
      window.location.assign(planURL(plan.id));
    } catch (e) {
      if (!(e instanceof APIError && e.status === 401)) placeProblem(ids, boxID, "Planning", e, fallback);
      busy(button, false);
    }
  }

  function planProfile(name, filter, button) {
    const form = $("plan-form");
    clearErrors(form);
    hideMessage();
    const body = { profile: name };
    if (filter) body.filter = filter;
    return makePlan(body, "", button, (f) => ({ "/profile": "pl-profile", "/filter": "pl-filter" })[f], "voice-message");
  }

  async function planCSV(ev) {
    ev.preventDefault();
    clearErrors($("csv-form"));
    hideMessage();
    const file = $("csv-file").files[0];
    if (!file) {
      setFieldError("csv-file", "Choose a CSV file first.");
      return;
    }
    makePlan(await file.text(), "text/csv", $("plan-csv"), () => "", "voice-message", "csv-file");
  }

  async function initVoiceTab() {
    if (!$("profiles")) return;
    $("profile-new").addEventListener("click", () => openProfileForm(null));
    $("profile-cancel").addEventListener("click", () => { $("profile-form").hidden = true; });
    $("profile-form").addEventListener("submit", saveProfile);
    for (const id of ["pf-mode-range", "pf-mode-type", "pf-mode-none"]) $(id).addEventListener("change", syncProfileMode);
    $("profile-delete-yes").addEventListener("click", deleteProfile);
    $("profile-delete-no").addEventListener("click", () => { $("profile-delete-confirm").hidden = true; });
    $("plan-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const name = $("pl-profile").value;
      if (!name) {
        clearErrors($("plan-form"));
        setFieldError("pl-profile", "Create a profile first: a plan applies a profile to users.");
        return;
      }
      planProfile(name, $("pl-filter").value.trim(), $("plan"));
    });
    $("csv-form").addEventListener("submit", planCSV);
    await run("Reading the numbers", loadVoiceSummary);
    await run("Reading the profiles", loadProfiles);
  }

  // ---- Plan page ----

  const planStatusText = { change: "To change", unchanged: "Unchanged", error: "Error" };
  let planShown = null;
  let planFilter = "";
  let planCursor = "";

  function plural(n, one, many) {
    return fmtNumber(n) + " " + (n === 1 ? one : many || one + "s");
  }

  function currentText(c) {
    if (!c) return "\u2014";
    const parts = [];
    if (!c.accountEnabled) parts.push("account disabled");
    if (c.usageLocation) parts.push(c.usageLocation);
    parts.push(c.enterpriseVoiceEnabled ? "voice on" : "voice off");
    parts.push((c.numbers && c.numbers.length) ? c.numbers.join(", ") : "no number");
    // The plan reads the voice licenses only (Teams Phone, Calling Plan).
    parts.push(c.licenses && c.licenses.length ? c.licenses.join(" ") : "no voice license");
    const pol = policiesText(c.policies);
    if (pol !== "\u2014") parts.push(pol);
    return parts.join("; ");
  }

  function targetText(t) {
    const parts = [];
    if (t.number) parts.push(t.number + (t.range ? " (" + t.range + ")" : ""));
    else if (t.range) parts.push("next of " + t.range);
    if (t.licenses && t.licenses.length) parts.push(t.licenses.join(" "));
    const pol = policiesText(t.policies);
    if (pol !== "\u2014") parts.push(pol);
    return parts.length ? parts.join("; ") : "\u2014";
  }

  function stepsText(it) {
    if (it.error) return it.error.detail; // it says what to do in the plan's terms
    if (it.status === "unchanged") return "Already in the target state";
    return (it.steps || []).map((s) => stepName(s.step) + (s.number ? " " + s.number : "")).join(", ");
  }

  function renderPlanSummary(p) {
    planShown = p;
    const from = p.source === "csv" ? "From a CSV" : "From profile " + p.profile + (p.filter ? ", for users matching " + p.filter : "");
    $("plan-what").textContent = from + (p.actor ? "; planned by " + p.actor : "") + ".";
    $("plan-read").textContent = "Read from Microsoft at " + fmtTime(p.readAt) + "; kept until " + fmtTime(p.expiresAt) +
      ". Applying reads the users again first when the plan is older than a few minutes.";
    for (const [id, v] of [["pc-users", p.users], ["pc-changes", p.changes], ["pc-unchanged", p.unchanged], ["pc-errors", p.errors]]) {
      $(id).textContent = fmtNumber(v);
      $(id).dataset.value = String(v);
    }
    const lic = $("plan-licenses");
    lic.tBodies[0].replaceChildren();
    for (const l of p.licenses || []) {
      const tr = lic.tBodies[0].insertRow();
      tr.dataset.sku = l.sku;
      cells(tr, [l.sku]);
      for (const v of [l.needed, l.free]) {
        const td = tr.insertCell();
        td.className = "num";
        td.textContent = fmtNumber(v);
      }
    }
    lic.hidden = !(p.licenses && p.licenses.length);
    const applied = !!p.operation;
    $("plan-apply").hidden = applied || p.changes === 0;
    $("plan-apply").textContent = "Apply " + plural(p.changes, "user") + "\u2026";
    $("plan-nothing").hidden = p.changes > 0;
    $("plan-nothing").textContent = p.users === 0 ? "Nothing to change: no user matches." :
      "Nothing to change: every user is already in the target state" + (p.errors ? " or has an error." : ".");
    $("plan-items").classList.toggle("no-rows", p.source !== "csv");
    $("plan-again").hidden = p.source !== "profile";
    const op = $("plan-operation");
    op.hidden = !applied;
    if (applied) op.href = "/voice/operation?" + new URLSearchParams({ customer, id: p.operation, plan: p.id });
  }

  async function loadPlan(after) {
    const id = document.body.dataset.plan;
    await run("Reading the plan", async () => {
      const q = new URLSearchParams({ limit: "50" });
      if (planFilter) q.set("status", planFilter);
      if (after) q.set("after", after);
      const p = (await call("GET", "/voice/plans/" + encodeURIComponent(id) + "?" + q)).data;
      renderPlanSummary(p);
      const body = $("plan-items").tBodies[0];
      if (!after) body.replaceChildren();
      for (const it of p.items || []) {
        const tr = body.insertRow();
        tr.dataset.status = it.status;
        tr.dataset.user = it.user;
        if (it.error) tr.dataset.code = it.error.code;
        cells(tr, [it.row || ""]);
        const u = tr.insertCell();
        if (it.userId || it.status !== "error") {
          const a = document.createElement("a");
          a.href = "/voice/user?" + new URLSearchParams({ customer, user: it.user });
          a.textContent = it.user;
          u.append(a);
        } else u.textContent = it.user || "(empty)";
        const st = tr.insertCell();
        const b = document.createElement("span");
        b.className = "badge";
        b.dataset.state = it.status;
        b.textContent = planStatusText[it.status] || it.status;
        st.append(b);
        cells(tr, [currentText(it.current), it.status === "error" && !it.target.number && !it.target.range ? "\u2014" : targetText(it.target)]);
        const last = tr.insertCell();
        last.textContent = stepsText(it);
        if (it.error) last.className = "error";
      }
      planCursor = p.next || "";
      $("plan-more").hidden = !planCursor;
      $("plan-items-empty").hidden = body.rows.length > 0;
    });
  }

  // applyEffects sums up what applying does, from every item to change.
  async function applyEffects(id) {
    const counts = new Map();
    let after = "";
    for (let page = 0; page < 50; page++) {
      const q = new URLSearchParams({ status: "change", limit: "1000" });
      if (after) q.set("after", after);
      const p = (await call("GET", "/voice/plans/" + encodeURIComponent(id) + "?" + q)).data;
      for (const it of p.items || []) {
        for (const s of it.steps || []) {
          let what = stepName(s.step);
          if (s.step === "number") what = "Assign a number" + (it.target.range ? " from range " + it.target.range : "");
          else if (s.step === "license") what = "Assign licenses (" + (it.target.licenses || []).join(" ") + ")";
          else if (s.step.startsWith("policy:")) what = "Set " + s.step.slice(7) + " to " + ((it.target.policies || {})[s.step.slice(7)] || "");
          counts.set(what, (counts.get(what) || 0) + 1);
        }
      }
      after = p.next || "";
      if (!after) break;
    }
    return counts;
  }

  async function askApply(ev) {
    const p = planShown;
    const button = ev.currentTarget;
    busy(button, true);
    await run("Reading the plan", async () => {
      const effects = await applyEffects(p.id);
      $("apply-what").textContent = "Applying this plan changes " + plural(p.changes, "user") + " of " + customer + " at Microsoft, starting at once:";
      const list = $("apply-list");
      list.replaceChildren();
      for (const [what, n] of effects) {
        const li = document.createElement("li");
        li.textContent = what + ": " + plural(n, "user");
        list.append(li);
      }
      if (p.errors) {
        const li = document.createElement("li");
        li.textContent = plural(p.errors, "row") + " with an error " + (p.errors === 1 ? "is" : "are") + " skipped; " + plural(p.unchanged, "user") + " already in the target state " + (p.unchanged === 1 ? "is" : "are") + " left alone.";
        list.append(li);
      }
      $("apply-yes").textContent = "Apply to " + plural(p.changes, "user");
      $("apply-confirm").hidden = false;
      $("apply-no").focus();
    });
    busy(button, false);
  }

  async function applyPlan(ev) {
    const p = planShown;
    const button = ev.currentTarget;
    busy(button, true);
    const op = await run("Applying the plan", async () => (await call("POST", "/voice/plans/" + encodeURIComponent(p.id) + "/apply")).data);
    if (op) window.location.assign("/voice/operation?" + new URLSearchParams({ customer, id: op.id, plan: p.id }));
    else busy(button, false);
  }

  function initPlanPage() {
    if (!$("plan-items")) return;
    for (const b of document.querySelectorAll("#plan-items-card .seg button")) {
      b.addEventListener("click", () => {
        for (const o of document.querySelectorAll("#plan-items-card .seg button")) o.setAttribute("aria-pressed", String(o === b));
        planFilter = b.dataset.status;
        loadPlan("");
      });
    }
    $("plan-more").addEventListener("click", () => loadPlan(planCursor));
    $("plan-apply").addEventListener("click", askApply);
    $("apply-no").addEventListener("click", () => { $("apply-confirm").hidden = true; });
    $("apply-yes").addEventListener("click", applyPlan);
    $("plan-again").addEventListener("click", async (ev) => {
      const p = planShown;
      const body = { profile: p.profile };
      if (p.filter) body.filter = p.filter;
      makePlan(body, "", ev.currentTarget, () => "", "message");
    });
    loadPlan("");
  }

  // ---- Operation page: an apply's progress, per-user results, cancel ----

  const itemOrder = { failed: 0, partial: 0, running: 1, queued: 2, canceled: 3, succeeded: 4 };
  let apTimer = 0;
  let apAll = false;
  let apShown = null;

  function renderApply(op) {
    apShown = op;
    const done = op.succeeded, failed = op.failed, total = op.total;
    const remaining = Math.max(0, total - done - failed);
    const st = $("ap-state");
    st.textContent = op.state;
    st.dataset.state = op.state;
    $("ap-kind").textContent = kindName(op.kind);
    for (const [id, v] of [["ap-done", done], ["ap-failed", failed], ["ap-remaining", remaining], ["ap-total", total]]) {
      $(id).textContent = fmtNumber(v);
      $(id).dataset.value = String(v);
    }
    const pct = (n) => (total ? (100 * n) / total : 0);
    $("ap-bar-done").style.width = pct(done) + "%";
    $("ap-bar-failed").style.width = pct(failed) + "%";
    const bar = $("ap-bar");
    bar.setAttribute("aria-valuenow", String(Math.round(pct(done + failed))));
    bar.setAttribute("aria-valuetext", done + " done, " + failed + " failed, " + remaining + " remaining of " + total);
    $("ap-summary").textContent = "Started " + fmtTime(op.createdAt) + (op.actor ? " by " + op.actor : "") + "; " +
      (op.finishedAt ? "finished " + fmtTime(op.finishedAt) + "." : remaining + " of " + total + " users remaining; this page follows it.");
    const running = op.state === "queued" || op.state === "running";
    $("ap-cancel").hidden = !running;
    if (!running) $("ap-cancel-confirm").hidden = true;
    const items = (op.items || []).slice().sort((a, b) => (itemOrder[a.state] ?? 5) - (itemOrder[b.state] ?? 5));
    const body = $("ap-users").tBodies[0];
    body.replaceChildren();
    for (const it of apAll ? items : items.slice(0, 50)) {
      const tr = body.insertRow();
      tr.dataset.state = it.state;
      tr.dataset.user = it.user;
      const number = (it.steps || []).find((s) => s.step === "number");
      const failedStep = (it.steps || []).find((s) => s.status === "failed");
      cells(tr, [it.user, it.state, number ? number.number : "",
        (it.steps || []).map((s) => stepName(s.step) + " " + s.status).join(", "),
        failedStep ? failedStep.detail : ((it.steps || []).find((s) => s.detail) || {}).detail]);
    }
    $("ap-more").hidden = apAll || items.length <= 50;
    $("ap-more").textContent = "Show all " + fmtNumber(items.length) + " users";
  }

  async function pollApply() {
    clearTimeout(apTimer);
    const id = document.body.dataset.operation;
    let op;
    try {
      op = (await call("GET", "/voice/operations/" + encodeURIComponent(id))).data;
    } catch (e) {
      if (!(e instanceof APIError && e.status === 401)) show("error", "Reading the operation failed: " + e.message);
      apTimer = setTimeout(pollApply, 5000);
      return;
    }
    renderApply(op);
    if (op.state === "queued" || op.state === "running") apTimer = setTimeout(pollApply, 1000);
    else if (op.state === "succeeded") show("ok", "Done: every user succeeded.");
    else show("error", "The operation ended " + op.state + ": the failed users are listed first with Microsoft's detail; applying the plan again resumes and skips what is done.");
  }

  function initApplyPage() {
    if (!$("ap-users")) return;
    const plan = new URLSearchParams(window.location.search).get("plan");
    if (plan) {
      $("ap-plan").href = planURL(plan);
      $("ap-plan").hidden = false;
    }
    $("ap-more").addEventListener("click", () => { apAll = true; renderApply(apShown); });
    $("ap-cancel").addEventListener("click", () => {
      const op = apShown;
      const remaining = Math.max(0, op.total - op.succeeded - op.failed);
      $("ap-cancel-what").textContent = "Cancel operation " + op.id + "? The users not started yet (up to " + plural(remaining, "user") +
        ") are left as they are. A step already sent to Microsoft runs to its end, and users already done keep their changes.";
      $("ap-cancel-confirm").hidden = false;
      $("ap-cancel-no").focus();
    });
    $("ap-cancel-no").addEventListener("click", () => { $("ap-cancel-confirm").hidden = true; });
    $("ap-cancel-yes").addEventListener("click", async (ev) => {
      const button = ev.currentTarget;
      busy(button, true);
      await run("Cancelling the operation", async () => {
        const op = (await call("POST", "/voice/operations/" + encodeURIComponent(apShown.id) + "/cancel")).data;
        $("ap-cancel-confirm").hidden = true;
        renderApply(op);
      });
      busy(button, false);
      pollApply();
    });
    pollApply();
  }

  initNumbers();
  initUser();
  initOperations();
  initVoiceTab();
  initPlanPage();
  initApplyPage();
})();
