import { Permit } from "permitio";

/** A Permit SDK client for tests, playing the part of Permit's dashboard/API. */
export function permitAdmin(settings: { apiKey: string; pdpUrl: string; apiUrl: string }): Permit {
  return new Permit({
    token: settings.apiKey,
    pdp: settings.pdpUrl,
    apiUrl: settings.apiUrl,
    timeout: 5000,
    log: { level: "silent", json: false, label: "test" },
  });
}

/** HTTP requests the local PDP has served since the last reset, by route. */
export async function pdpStats(settings: { apiKey: string; pdpUrl: string }): Promise<Record<string, number>> {
  const res = await fetch(`${settings.pdpUrl}/local/stats`, { headers: { authorization: `Bearer ${settings.apiKey}` } });
  if (res.status !== 200) throw new Error(`/local/stats: HTTP ${res.status}`);
  return ((await res.json()) as { requests: Record<string, number> }).requests;
}

export async function resetPdpStats(settings: { apiKey: string; pdpUrl: string }): Promise<void> {
  const res = await fetch(`${settings.pdpUrl}/local/stats/reset`, {
    method: "POST",
    headers: { authorization: `Bearer ${settings.apiKey}` },
  });
  if (res.status >= 300) throw new Error(`/local/stats/reset: HTTP ${res.status}`);
}

/** Decisions the local PDP has made so far (its decision log's sequence number): a bulk of n checks adds n. */
export async function decisionsMade(settings: { apiKey: string; pdpUrl: string }): Promise<number> {
  const res = await fetch(`${settings.pdpUrl}/local/decisions?limit=1`, { headers: { authorization: `Bearer ${settings.apiKey}` } });
  if (res.status !== 200) throw new Error(`/local/decisions: HTTP ${res.status}`);
  return ((await res.json()) as { last_seq: number }).last_seq;
}

/**
 * Calls to the PDP's decision endpoints (the ones a GraphQL request makes while resolving). The
 * REST reads of list plans are not counted: outside tests they are cached (LIST_PLAN_TTL_MS).
 */
export function decisionCalls(stats: Record<string, number>): { single: number; bulk: number; total: number } {
  const single = stats["POST /allowed"] ?? 0;
  const bulk = stats["POST /allowed/bulk"] ?? 0;
  const total = single + bulk + (stats["POST /user-permissions"] ?? 0);
  return { single, bulk, total };
}
