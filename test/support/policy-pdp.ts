import type { Permit } from "permitio";
import { applyPolicy } from "../../src/permit/policy-sync";
import { createPermitClient } from "../../src/permit/client";
import { policy } from "../../src/authz/policy";
import { startLocalPdp, type LocalPdp } from "@notes/local-pdp";
import { createLogger } from "../../src/common/logger";
import { startTestApi, type TestApi } from "./api";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy";

/** A local PDP on a free port with the project's policy applied, and an SDK client for it. */
export async function startPolicyPdp(apiKey: string, tenant = "default"): Promise<{ pdp: LocalPdp; permit: Permit }> {
  const pdp = await startLocalPdp({ apiKey, port: 0 });
  const permit = createPermitClient({ apiKey, pdpUrl: pdp.url, apiUrl: pdp.url, timeoutMs: 2000 }, createLogger("silent"));
  await applyPolicy(permit, policy, { tenant });
  return { pdp, permit };
}

export interface ApiBehindProxy {
  pdp: LocalPdp;
  /** Between the API and the PDP (decisions and Permit's REST API alike): switch it to refuse or hang. */
  proxy: TcpProxy;
  api: TestApi;
  stop(): Promise<void>;
}

/** The API in-process with its PDP behind a switchable TCP proxy, for outage tests. */
export async function startApiBehindProxy(apiKey: string, env: Record<string, string> = {}): Promise<ApiBehindProxy> {
  const { pdp } = await startPolicyPdp(apiKey);
  const proxy = await startTcpProxy(new URL(pdp.url));
  const api = await startTestApi({ PERMIT_API_KEY: apiKey, PERMIT_PDP_URL: proxy.url, PERMIT_API_URL: proxy.url, ...env });
  return {
    pdp,
    proxy,
    api,
    async stop() {
      await api.stop();
      await proxy.close();
      await pdp.close();
    },
  };
}
