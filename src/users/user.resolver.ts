import { Ctx, Query, Resolver } from "type-graphql";
import { requireCaller } from "../authz/context";
import type { RequestContext } from "../graphql/context";
import { ViewerType } from "./user.types";

@Resolver(() => ViewerType)
export class UserResolver {
  @Query(() => ViewerType, { description: "The authenticated caller. UNAUTHENTICATED without a valid session." })
  async me(@Ctx() ctx: RequestContext): Promise<ViewerType> {
    const { principal } = requireCaller(ctx);
    return { id: principal.userId, email: principal.email ?? null, roles: await ctx.tenantRoles() };
  }
}
