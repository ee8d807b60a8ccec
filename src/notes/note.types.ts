import { Field, ID, InputType, Int, ObjectType } from "type-graphql";

@ObjectType("NotePermissions", { simpleResolvers: true })
export class NotePermissionsType {
  @Field(() => Boolean) get!: boolean;
  @Field(() => Boolean) put!: boolean;
  @Field(() => Boolean) delete!: boolean;
}

@ObjectType("Note", { simpleResolvers: true })
export class NoteType {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  title!: string;

  @Field(() => String)
  body!: string;

  @Field(() => Int, { description: "Starts at 1, +1 on every update." })
  version!: number;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}

@ObjectType("PageInfo", { simpleResolvers: true })
export class PageInfoType {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

@ObjectType("NoteEdge", { simpleResolvers: true })
export class NoteEdgeType {
  @Field(() => String)
  cursor!: string;

  @Field(() => NoteType)
  node!: NoteType;
}

@ObjectType("NoteConnection", { simpleResolvers: true })
export class NoteConnectionType {
  @Field(() => [NoteEdgeType])
  edges!: NoteEdgeType[];

  @Field(() => PageInfoType)
  pageInfo!: PageInfoType;
}

@InputType("CreateNoteInput")
export class CreateNoteInput {
  @Field(() => String, { description: "1..200 characters after trimming." })
  title!: string;

  @Field(() => String, { nullable: true, defaultValue: "", description: "At most 100000 characters." })
  body?: string | null;

  @Field(() => ID, { nullable: true })
  workspaceId?: string | null;
}

@InputType("UpdateNoteInput")
export class UpdateNoteInput {
  @Field(() => String, { nullable: true })
  title?: string | null;

  @Field(() => String, { nullable: true })
  body?: string | null;

  @Field(() => Int, { nullable: true, description: "CONFLICT when the note's current version differs." })
  expectedVersion?: number | null;
}
