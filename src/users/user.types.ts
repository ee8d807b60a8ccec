import { Field, ID, ObjectType } from "type-graphql";

@ObjectType("Viewer", { simpleResolvers: true, description: "The caller, as known to this API and to the policy decision point." })
export class ViewerType {
  @Field(() => ID, { description: "The Hanko user id (the session token's `sub`)." })
  id!: string;

  @Field(() => String, { nullable: true })
  email?: string | null;

  // `roles`: UserResolver asks the PDP only when a client selects it.
}

/** Another user, as a note's owner or a workspace's member: the id at once, the email (UserResolver) only when selected. */
@ObjectType("User", { simpleResolvers: true })
export class UserType {
  @Field(() => ID)
  id!: string;
}
