/**
 * Opaque keyset cursors: a position in (createdAt DESC, id DESC) order. Any row can be a
 * position, also one the caller may not read, so a cursor never reveals content.
 */
import { badInput } from "../errors";
import { isUuid } from "../validation";

export interface Position {
  createdAt: Date;
  id: string;
}

export function encodeCursor(position: Position): string {
  return Buffer.from(`${position.createdAt.toISOString()}|${position.id}`, "utf8").toString("base64url");
}

export function decodeCursor(cursor: string): Position {
  const [iso, id, extra] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  const createdAt = new Date(iso ?? "");
  if (extra !== undefined || !id || !isUuid(id) || Number.isNaN(createdAt.getTime())) {
    throw badInput("after is not a valid cursor.", "after");
  }
  return { createdAt, id };
}
