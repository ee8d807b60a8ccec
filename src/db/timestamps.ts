/**
 * How `timestamptz` values are read. pg's own parser (postgres-date) runs up to four regular
 * expressions per value, and a list page reads two per row. The shape this API's columns
 * produce in a UTC session, `YYYY-MM-DD HH:MM:SS[.fff…]+00`, is read by position here into the
 * same Date; any other text (another session time zone, a year outside 1000–9999, BC, infinity)
 * goes to pg's parser as before. timestamps.test.ts checks both against postgres-date.
 */
import pg from "pg";

const TIMESTAMPTZ_OID = 1184;
const ZERO = 48;

const digitsAt = (text: string, from: number, count: number): number => {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const d = text.charCodeAt(i) - ZERO;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
};

const pgTimestamptz = pg.types.getTypeParser(TIMESTAMPTZ_OID, "text") as (text: string) => Date | number | null;

export function parseTimestamptz(text: string): Date | number | null {
  const end = text.length - 3;
  if (end < 19 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 32 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58 || !text.endsWith("+00")) {
    return pgTimestamptz(text);
  }
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  // A fraction: a dot and at least one digit; Date keeps milliseconds, the first three digits
  // (postgres-date's `1000 * parseFloat(".fff…")`, truncated by Date, is the same number).
  let ms = 0;
  if (end > 19) {
    if (text.charCodeAt(19) !== 46 || end === 20) return pgTimestamptz(text);
    const digits = Math.min(end - 20, 3);
    ms = digitsAt(text, 20, digits) * 10 ** (3 - digits);
    if (ms < 0 || digitsAt(text, 20, end - 20) < 0) return pgTimestamptz(text);
  }
  if (year < 1000 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return pgTimestamptz(text);
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms));
}

/** pg's type parsers with `timestamptz` read by `parseTimestamptz`: a pool's `types` option. */
export const pgTypes = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    return oid === TIMESTAMPTZ_OID && format !== "binary" ? parseTimestamptz : pg.types.getTypeParser(oid, format);
  },
};
