import { Field, ID, InputType, ObjectType, registerEnumType } from "type-graphql";
import { UserType } from "../users/user.types";
import { WorkspaceRole } from "./workspace-member.entity";

registerEnumType(WorkspaceRole, { name: "WorkspaceRole" });

@ObjectType("WorkspacePermissions", { simpleResolvers: true })
export class WorkspacePermissionsType {
  @Field(() => Boolean) get!: boolean;
  @Field(() => Boolean) put!: boolean;
  @Field(() => Boolean) delete!: boolean;
  @Field(() => Boolean) share!: boolean;
  @Field(() => Boolean) addNote!: boolean;
}

@ObjectType("WorkspaceMember", { simpleResolvers: true })
export class WorkspaceMemberType {
  @Field(() => UserType)
  user!: UserType;

  @Field(() => WorkspaceRole)
  role!: WorkspaceRole;
}

@ObjectType("Workspace", { simpleResolvers: true })
export class WorkspaceType {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Date, { description: "When the workspace was created." })
  createdAt!: Date;
}

@InputType("CreateWorkspaceInput")
export class CreateWorkspaceInput {
  @Field(() => String, { description: "1..100 characters after trimming." })
  name!: string;
}
