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

  function show(kind, text) {
    const m = $("message");
    m.hidden = false;
    m.className = "message " + kind;
    m.textContent = text;
  }
  function hideMessage() {
    $("message").hidden = true;
  }

  class APIError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || "HTTP " + status);
      this.status = status;
      this.problem = problem;
    }
  }

  async function call(method, path, body) {
    const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
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
    $("op-summary").textContent = (op.kind === "release" ? "Release" : "Set voice") + ": " + pct + "% \u2014 " +
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
        cells(tr, [fmtTime(op.createdAt), op.kind === "release" ? "Release" : "Set voice", users.join(", "), op.state, pct, op.actor]);
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
    $("op-cancel").addEventListener("click", async (ev) => {
      const id = opShown;
      busy(ev.target, true);
      await run("Cancelling the operation", async () => {
        const op = (await call("POST", "/voice/operations/" + encodeURIComponent(id) + "/cancel")).data;
        renderOperation(op);
        show("ok", "Operation " + id + " is " + op.state + ": steps not started will not run.");
      });
      busy(ev.target, false);
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

  function showFormProblem(form, boxID, what, e) {
    let placed = false;
    if (e instanceof APIError && e.problem && Array.isArray(e.problem.fields)) {
      for (const f of e.problem.fields) {
        let id = fieldIDs[f.field];
        if (id === "as-number" && $("as-mode-next").checked) id = "as-range";
        if (id === "as-licenses") {
          const msg = $("as-licenses-error");
          msg.textContent = f.message;
          msg.hidden = false;
          $("as-licenses").setAttribute("aria-invalid", "true");
          $("as-licenses").setAttribute("aria-describedby", "as-licenses-error");
          placed = true;
          continue;
        }
        if (id && setFieldError(id, f.message)) placed = true;
      }
    }
    const box = $(boxID);
    box.hidden = false;
    box.textContent = e instanceof APIError ? problemText(what, e) + (placed ? " Nothing was changed." : "") : what + " failed: " + e.message;
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

  initNumbers();
  initUser();
  initOperations();
})();
