import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { NoteType } from "../notes/note.types";
import { NoteChangeKind } from "./change-log";

registerEnumType(NoteChangeKind, { name: "NoteChangeKind" });

@ObjectType("NoteChange", { simpleResolvers: true })
export class NoteChangeType {
  @Field(() => String)
  cursor!: string;

  @Field(() => NoteChangeKind)
  kind!: NoteChangeKind;

  @Field(() => ID, { nullable: true, description: "Set for note kinds." })
  noteId!: string | null;

  @Field(() => ID, { nullable: true, description: "The note's workspace, or the workspace granted or revoked." })
  workspaceId!: string | null;

  @Field(() => Int, { nullable: true, description: "The note's version after the change (for DELETED, its last version)." })
  version!: number | null;

  @Field(() => NoteType, { nullable: true, description: "The note as it is now; null for DELETED and the workspace kinds." })
  note!: NoteType | null;

  @Field(() => Date, { description: "When the change was committed." })
  at!: Date;
}

@ObjectType("NoteChangePage", { simpleResolvers: true })
export class NoteChangePageType {
  @Field(() => [NoteChangeType])
  changes!: NoteChangeType[];

  @Field(() => String, { description: "Where to resume; equals `after` when nothing new is visible yet." })
  cursor!: string;

  @Field(() => Boolean, { description: "True when more changes are already committed after `cursor`." })
  hasMore!: boolean;
}
