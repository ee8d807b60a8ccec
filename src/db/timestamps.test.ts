import "reflect-metadata";
import fc from "fast-check";
import pg from "pg";
import { createTestDatabase } from "../../test/support/database";
import { createDataSource } from "./data-source";
import { parseTimestamptz } from "./timestamps";

const postgresDate = pg.types.getTypeParser(1184, "text") as (text: string) => Date | number | null;

/** Equal as pg's own parser answers: the same instant (or both invalid), the same number, or both null. */
const expectSameAsPg = (text: string) => {
  const ours = parseTimestamptz(text);
  const theirs = postgresDate(text);
  if (theirs instanceof Date) {
    expect(ours).toBeInstanceOf(Date);
    expect(Object.is((ours as Date).getTime(), theirs.getTime())).toBe(true);
  } else {
    expect(ours).toEqual(theirs);
  }
};

const pad = (n: number, width: number) => String(n).padStart(width, "0");

describe("timestamptz parsing", () => {
  it("reads every value PostgreSQL prints in a UTC session as pg's parser does", () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date("1000-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59.999Z"), noInvalidDate: true }),
        fc.integer({ min: 0, max: 999_999 }),
        fc.integer({ min: 0, max: 6 }),
        (date, micros, digits) => {
          const fraction = digits === 0 ? "" : `.${pad(micros, 6).slice(0, digits)}`;
          const text = `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)} ${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}${fraction}+00`;
          expectSameAsPg(text);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it("leaves every other text to pg's parser: offsets, old and BC years, infinity, malformed values", () => {
    for (const text of [
      "2026-12-07 02:43:00.123+01",
      "2026-12-07 02:43:00-05:30",
      "2026-12-07 02:43:00Z",
      "0099-01-01 00:00:00+00",
      "0001-01-01 00:00:00+00 BC",
      "12026-01-01 00:00:00+00",
      "infinity",
      "-infinity",
      "2026-12-07 02:43:00.+00",
      "2026-12-07 02:43:0x+00",
      "2026-12-07 02:43:00.12a+00",
      "2026-12-07",
      "",
    ]) {
      expectSameAsPg(text);
    }
    fc.assert(fc.property(fc.string({ maxLength: 40 }), expectSameAsPg), { numRuns: 2000 });
  });

  it("is what the data source reads from PostgreSQL, in a UTC session and in another time zone", async () => {
    const ds = createDataSource(await createTestDatabase());
    await ds.initialize();
    const runner = ds.createQueryRunner();
    try {
      const pool = (ds.driver as unknown as { master: { options: { types: { getTypeParser(oid: number, format?: string): unknown } } } }).master;
      expect(pool.options.types.getTypeParser(1184, "text")).toBe(parseTimestamptz);
      expect(pool.options.types.getTypeParser(1114, "text")).toBe(pg.types.getTypeParser(1114, "text"));
      const sql = `SELECT t AS at, t::text AS text FROM unnest($1::timestamptz[]) AS t`;
      const instants = ["2026-12-07T02:43:00.123Z", "2026-12-07T02:43:00Z", "1999-12-31T23:59:59.9Z", "1000-01-01T00:00:00.001Z"];
      for (const zone of ["UTC", "Asia/Kolkata"]) {
        await runner.query(`SET TIME ZONE '${zone}'`);
        const rows = (await runner.query(sql, [instants])) as { at: Date; text: string }[];
        expect(rows.map((r) => r.at.toISOString())).toEqual(instants.map((i) => new Date(i).toISOString()));
        for (const row of rows) expectSameAsPg(row.text);
      }
    } finally {
      await runner.release();
      await ds.destroy();
    }
  });
});
