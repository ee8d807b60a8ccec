import { AppError } from "../common/errors";
import { extractSessionToken, readCookie } from "./extract-token";

const JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_";

/** The `extensions` of the error extraction throws, or undefined when it does not throw. */
function failureOf(headers: { authorization?: string; cookie?: string }): unknown {
  try {
    extractSessionToken(headers);
    return undefined;
  } catch (error) {
    return error instanceof AppError ? error.extensions : error;
  }
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
    for (const authorization of ["", "   ", "Bearer", "Bearer ", `Basic ${JWT}`, JWT, "Bearer a b", "Bearer <script>"]) {
      expect(failureOf({ authorization, cookie: `hanko=${JWT}` })).toEqual({
        code: "UNAUTHENTICATED",
        reason: "malformed_authorization",
      });
    }
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
