import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { NoteType } from "../notes/note.types";
import type { NoteEventKind as Kind } from "./note-event-hub";

/** The note kinds of the change log; a stream carries no workspace kinds. */
export const NoteEventKind: { [K in Kind]: K } = { CREATED: "CREATED", UPDATED: "UPDATED", DELETED: "DELETED" };
registerEnumType(NoteEventKind, { name: "NoteEventKind" });

@ObjectType("NoteEvent", { simpleResolvers: true })
export class NoteEventType {
  @Field(() => NoteEventKind)
  kind!: Kind;

  @Field(() => ID, { description: "The note's id, for every kind." })
  noteId!: string;

  @Field(() => Int, { description: "The note's version after the change (for DELETED, its last version)." })
  version!: number;

  @Field(() => NoteType, { nullable: true, description: "The note as it is after the change; null for DELETED." })
  note!: NoteType | null;

  @Field(() => Date, { description: "When the change was committed." })
  at!: Date;

  @Field(() => String, { description: "Resume position: noteEvents(after: cursor) or noteChanges(after: cursor)." })
  cursor!: string;
}
