/**
 * Change feed cursors: a log position (tx, id), sealed like list cursors (common/cursor.ts)
 * with a key of its own and bound to the caller. Opaque, so a position that lies past changes
 * the caller may not see tells them nothing; a cursor altered, minted elsewhere or taken from
 * another caller is BAD_USER_INPUT. The same cursor resumes `noteChanges` and `noteEvents`.
 */
import { badInput } from "../common/errors";
import { SealedBox } from "../common/cursor";
import type { ChangePosition } from "./change-log";

const PLAIN = 16;
const scopeOf = (viewer: string) => ({ viewer, list: "note changes" });

export class ChangeCursorCodec {
  private readonly box: SealedBox;

  constructor(secret: string | Buffer) {
    this.box = new SealedBox(secret, "notes-api change cursor v1");
  }

  encode(position: ChangePosition, viewer: string): string {
    const plain = Buffer.alloc(PLAIN);
    plain.writeBigUInt64BE(position.tx, 0);
    plain.writeBigUInt64BE(position.id, 8);
    return this.box.seal(plain, scopeOf(viewer));
  }

  decode(cursor: string, viewer: string, field = "after"): ChangePosition {
    const plain = this.box.open(cursor, scopeOf(viewer), PLAIN);
    if (!plain) throw badInput(`${field} is not a change feed cursor of yours.`, field);
    return { tx: plain.readBigUInt64BE(0), id: plain.readBigUInt64BE(8) };
  }
}
