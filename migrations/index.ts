/** Every migration, in order. Listed explicitly so that tsx, jest and compiled code load the same set. */
import { InitialSchema1764370000000 } from "./1764370000000-InitialSchema";
import { NotesOwnerIndex1764500000000 } from "./1764500000000-NotesOwnerIndex";
import { UserTombstones1764600000000 } from "./1764600000000-UserTombstones";
import { PolicyChanges1764700000000 } from "./1764700000000-PolicyChanges";
import { LiveSubscribers1764800000000 } from "./1764800000000-LiveSubscribers";
import { NoteChanges1764900000000 } from "./1764900000000-NoteChanges";
import { OutboxObjects1765000000000 } from "./1765000000000-OutboxObjects";

export const migrations = [InitialSchema1764370000000, NotesOwnerIndex1764500000000, UserTombstones1764600000000, PolicyChanges1764700000000, LiveSubscribers1764800000000, NoteChanges1764900000000, OutboxObjects1765000000000];
