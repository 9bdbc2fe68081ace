// A client of the admin API typed from the served OpenAPI document:
// .ci/run generates schema.d.ts with openapi-typescript and compiles this
// file with tsc (strict). It fails when the document cannot be turned into
// a client, or when the operations below stop having these shapes.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

type Problem = components["schemas"]["Problem"];

const api = createClient<paths>({ baseUrl: "http://127.0.0.1:8080/api", headers: { Authorization: "Bearer admin-token" } });

function problem(p: Problem): string {
  return p.code + ": " + (p.detail ?? p.title) + (p.fields ?? []).map((f) => " " + f.field).join("");
}

export async function walk(): Promise<string[]> {
  const out: string[] = [];
  const created = await api.POST("/customers", {
    body: { customer: "woodgrove", name: "Woodgrove Bank", tenant: "woodgrove.onmicrosoft.com", authMode: "token" },
  });
  if (created.error) return [problem(created.error)];
  const version: number = created.data.version;

  const settings = await api.GET("/customers/{customer}/m365", { params: { path: { customer: "woodgrove" } } });
  if (settings.data) {
    // Read-modify-write: what GET answers, PUT takes back.
    await api.PUT("/customers/{customer}/m365", {
      params: { path: { customer: "woodgrove" } },
      body: { ...settings.data, userFilter: "UsageLocation -eq 'IT'" },
    });
  }

  const fleet = await api.GET("/customers", { params: { query: { limit: 100, needsAction: true } } });
  for (const c of fleet.data?.customers ?? []) out.push(c.customer + " " + c.state + " " + (c.lastSyncAt ?? "never"));

  // Every listing pages by cursor.
  let after: string | undefined;
  do {
    const ev = await api.GET("/events", { params: { query: { customer: "woodgrove", type: "sync.failed", limit: 100, after } } });
    if (ev.error) return [problem(ev.error)];
    for (const e of ev.data.events) out.push(e.id + " " + e.type + " " + e.occurredAt);
    after = ev.data.next || undefined;
  } while (after);

  const audit = await api.GET("/customers/{customer}/audit", {
    params: { path: { customer: "woodgrove" }, query: { outcome: "failed", from: "2026-12-01" } },
  });
  for (const a of audit.data?.entries ?? []) out.push(a.occurredAt + " " + a.actor + " " + a.action + " " + (a.requestId ?? ""));

  const failed = await api.GET("/webhooks/deliveries", { params: { query: { customer: "woodgrove", state: "failed" } } });
  for (const d of failed.data?.deliveries ?? []) {
    const replay = await api.POST("/customers/{customer}/webhooks/deliveries/{event}/{endpoint}/replay", {
      params: { path: { customer: d.customer, event: d.eventId, endpoint: d.endpoint } },
    });
    out.push(replay.data ? replay.data.state + " " + replay.data.replays : problem(replay.error!));
  }

  const sync = await api.POST("/customers/{customer}/users/sync", { params: { path: { customer: "woodgrove" } } });
  if (sync.data) out.push(sync.data.state + " " + sync.data.startedAt + " " + sync.data.heartbeatAt);
  out.push("version " + version);
  return out;
}
