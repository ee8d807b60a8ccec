/**
 * Opaque, tamper-proof keyset cursors: a position in (createdAt DESC, id DESC) order,
 * encrypted and authenticated with AES-256-GCM. A list's end cursor may be the position of a
 * row the caller may not read (so that no page rescans it); encryption keeps that row's id
 * and creation time secret. Each cursor is bound to the caller and to the list it came from
 * (additional authenticated data), so a cursor that was altered, minted with another key, or
 * taken from another caller or list is refused as BAD_USER_INPUT.
 *
 * Layout before encryption: 8 bytes of createdAt (ms since the epoch) + the 16 bytes of the id.
 * Token: base64url(nonce 12 | ciphertext 24 | tag 16).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { badInput } from "./errors";

export interface Position {
  createdAt: Date;
  id: string;
}

/** What a cursor is valid for: the caller and the list's arguments, apart from the page size. */
export interface CursorScope {
  viewer: string;
  list: string;
}

const NONCE = 12;
const TAG = 16;
const PLAIN = 24;

export class CursorCodec {
  private readonly box: SealedBox;

  /** `secret`: CURSOR_SECRET, or the random key kept in DATA_DIR. Any length ≥ 32 bytes of entropy. */
  constructor(secret: string | Buffer) {
    this.box = new SealedBox(secret, "notes-api cursor v1");
  }

  encode(position: Position, scope: CursorScope): string {
    const plain = Buffer.alloc(PLAIN);
    plain.writeBigInt64BE(BigInt(position.createdAt.getTime()), 0);
    Buffer.from(position.id.replace(/-/g, ""), "hex").copy(plain, 8);
    return this.box.seal(plain, scope);
  }

  decode(cursor: string, scope: CursorScope, field = "after"): Position {
    const plain = this.box.open(cursor, scope, PLAIN);
    if (!plain) throw invalid(field);
    const createdAt = new Date(Number(plain.readBigInt64BE(0)));
    const hex = plain.subarray(8).toString("hex");
    const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    return { createdAt, id };
  }
}

/**
 * AES-256-GCM with a key derived for one purpose (`info`), the scope as additional
 * authenticated data: a token sealed for one purpose, caller or list opens for no other.
 * Token: base64url(nonce 12 | ciphertext | tag 16).
 */
export class SealedBox {
  private readonly key: Buffer;

  constructor(secret: string | Buffer, info: string) {
    this.key = Buffer.from(hkdfSync("sha256", secret, Buffer.alloc(0), info, 32));
  }

  seal(plain: Buffer, scope: CursorScope): string {
    const nonce = randomBytes(NONCE);
    const cipher = createCipheriv("aes-256-gcm", this.key, nonce);
    cipher.setAAD(aad(scope));
    return Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]).toString("base64url");
  }

  /** The plaintext of `length` bytes, or null for anything that is not a token of this box and scope. */
  open(token: string, scope: CursorScope, length: number): Buffer | null {
    const sealed = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, "base64url") : Buffer.alloc(0);
    if (sealed.length !== NONCE + length + TAG) return null;
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, sealed.subarray(0, NONCE));
      decipher.setAAD(aad(scope));
      decipher.setAuthTag(sealed.subarray(NONCE + length));
      return Buffer.concat([decipher.update(sealed.subarray(NONCE, NONCE + length)), decipher.final()]);
    } catch {
      return null;
    }
  }
}

const aad = (scope: CursorScope) => Buffer.from(`${scope.viewer}\u0000${scope.list}`, "utf8");

const invalid = (field: string) => badInput(`${field} is not a cursor of this list.`, field);
