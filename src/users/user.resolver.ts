import { Ctx, FieldResolver, Query, Resolver, Root } from "type-graphql";
import { requireCaller } from "../authz/context";
import type { RequestContext } from "../graphql/context";
import { UserType, ViewerType } from "./user.types";

@Resolver(() => ViewerType)
export class UserResolver {
  @Query(() => ViewerType, { description: "The authenticated caller. UNAUTHENTICATED without a valid session." })
  me(@Ctx() ctx: RequestContext): ViewerType {
    const { principal } = requireCaller(ctx);
    return { id: principal.userId, email: principal.email ?? null };
  }

  /** One PDP call, made only when a client selects the roles: `me { id }` costs none. */
  @FieldResolver(() => [String], { description: "Tenant-level roles of the caller in the policy decision point (e.g. user, admin)." })
  roles(@Ctx() ctx: RequestContext): Promise<string[]> {
    return ctx.tenantRoles();
  }
}

@Resolver(() => UserType)
export class UserFieldsResolver {
  /** Read (batched per request) only when a client asks: most lists select the owner's id alone. */
  @FieldResolver(() => String, { nullable: true })
  async email(@Root() user: UserType, @Ctx() ctx: RequestContext): Promise<string | null> {
    return (await ctx.loaders.user.load(user.id))?.email ?? null;
  }
}
