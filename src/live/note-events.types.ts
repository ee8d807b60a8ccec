import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { NoteEventKind } from "../notes/note-events";
import { NoteType } from "../notes/note.types";

registerEnumType(NoteEventKind, { name: "NoteEventKind" });

@ObjectType("NoteEvent")
export class NoteEventType {
  @Field(() => NoteEventKind)
  kind!: NoteEventKind;

  @Field(() => ID, { description: "The note's id, for every kind." })
  noteId!: string;

  @Field(() => Int, { description: "The note's version after the change (for DELETED, its last version)." })
  version!: number;

  @Field(() => NoteType, { nullable: true, description: "The note as it is after the change; null for DELETED." })
  note!: NoteType | null;

  @Field(() => Date, { description: "When the change was committed." })
  at!: Date;
}
