import { AppError } from "../errors";
import { extractSessionToken, readCookie } from "./extract-token";

const JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_";

function malformed(headers: { authorization?: string; cookie?: string }): void {
  let error: unknown;
  try {
    extractSessionToken(headers);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).extensions).toEqual({ code: "UNAUTHENTICATED", reason: "malformed_authorization" });
}

describe("extractSessionToken", () => {
  it("returns undefined for an anonymous request", () => {
    expect(extractSessionToken({})).toBeUndefined();
    expect(extractSessionToken({ cookie: "theme=dark; lang=en" })).toBeUndefined();
    expect(extractSessionToken({ cookie: "hanko=" })).toBeUndefined();
  });

  it("reads a Bearer token (scheme case-insensitive, extra spaces tolerated)", () => {
    expect(extractSessionToken({ authorization: `Bearer ${JWT}` })).toBe(JWT);
    expect(extractSessionToken({ authorization: `bearer   ${JWT} ` })).toBe(JWT);
  });

  it("reads the hanko cookie among others", () => {
    expect(extractSessionToken({ cookie: `theme=dark; hanko=${JWT}; lang=en` })).toBe(JWT);
    expect(extractSessionToken({ cookie: `hanko="${JWT}"` })).toBe(JWT);
  });

  it("prefers the Authorization header over the cookie", () => {
    expect(extractSessionToken({ authorization: `Bearer ${JWT}`, cookie: "hanko=from-cookie" })).toBe(JWT);
  });

  it("rejects a present but malformed Authorization header instead of falling back to the cookie", () => {
    malformed({ authorization: "" });
    malformed({ authorization: "   " });
    malformed({ authorization: "Bearer" });
    malformed({ authorization: "Bearer " });
    malformed({ authorization: `Basic ${JWT}` });
    malformed({ authorization: JWT });
    malformed({ authorization: "Bearer a b", cookie: `hanko=${JWT}` });
    malformed({ authorization: "Bearer <script>" });
  });
});

describe("readCookie", () => {
  it("matches names exactly, not as substrings", () => {
    expect(readCookie("xhanko=1; hanko_state=2; hanko=3", "hanko")).toBe("3");
    expect(readCookie("hanko_state=2", "hanko")).toBeUndefined();
  });

  it("takes the first occurrence, keeps '=' in values and percent-decodes", () => {
    expect(readCookie("hanko=a=b; hanko=second", "hanko")).toBe("a=b");
    expect(readCookie("hanko=a%20b", "hanko")).toBe("a b");
    expect(readCookie("hanko=100%", "hanko")).toBe("100%");
  });

  it("tolerates junk pairs and whitespace", () => {
    expect(readCookie(";; junk ;  hanko = v ;", "hanko")).toBe("v");
    expect(readCookie("", "hanko")).toBeUndefined();
  });
});
