/**
 * The caller's tenant roles (`me.roles`), asked of the PDP itself (`/user-permissions`), never
 * of Permit's REST API, which is slow and rate-limited in the cloud. Not cached: a role
 * granted or taken away in Permit shows on the next request.
 */
import type { Permit } from "permitio";
import type { Logger } from "../common/logger";
import { toAuthzError } from "../permit/client";

const TENANT_TYPE = "__tenant";

export async function tenantRolesOf(permit: Pick<Permit, "getUserPermissions">, userId: string, tenant: string, logger: Logger): Promise<string[]> {
  let permissions: Awaited<ReturnType<Permit["getUserPermissions"]>>;
  try {
    permissions = await permit.getUserPermissions({ key: userId }, [tenant], undefined, [TENANT_TYPE]);
  } catch (error) {
    throw toAuthzError(error, logger);
  }
  return [...(permissions[`${TENANT_TYPE}:${tenant}`]?.roles ?? [])].sort();
}
