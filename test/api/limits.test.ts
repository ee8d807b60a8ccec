import { print } from "graphql";
import { NotesDocument } from "../generated/graphql";
import { codes, startTestApi, type TestApi } from "../support/api";

let api: TestApi;
let token: string;

beforeAll(async () => {
  api = await startTestApi({ GRAPHQL_MAX_DEPTH: "5", GRAPHQL_MAX_COMPLEXITY: "300", CORS_ORIGINS: "https://app.example.com" });
  token = await api.token("limits@example.com");
});
afterAll(() => api.stop());

const raw = async (query: string) => {
  const res = await api.http("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, ...((await res.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] }) };
};

describe("operation limits", () => {
  it("refuses a query nested deeper than GRAPHQL_MAX_DEPTH, and runs a shallower one", async () => {
    const deep = await raw(`{ notes { edges { node { workspace { members { user { id } } } } } } }`);
    expect(deep.status).toBe(400);
    expect(deep.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    const shallow = await raw(`{ notes { edges { node { id } } } }`);
    expect(shallow.errors).toBeUndefined();
  });

  it("counts the page size in the cost: first: 100 is refused where first: 5 is not", async () => {
    const big = await api.gql(NotesDocument, { first: 100 }, token);
    expect(big.status).toBe(400);
    expect(codes(big)).toEqual(["BAD_USER_INPUT"]);
    expect(big.errors![0]!.extensions).toMatchObject({ maximum: 300 });
    const small = await api.gql(NotesDocument, { first: 5 }, token);
    expect(small.errors).toBeUndefined();
  });

  it("refuses mutations over GET (CSRF) and simple-request content types", async () => {
    const get = await api.http(`/graphql?query=${encodeURIComponent("mutation { deleteNote(id: \"x\") }")}`, {
      headers: { authorization: `Bearer ${token}`, "apollo-require-preflight": "1" },
    });
    expect(get.status).toBe(405);
    const simple = await api.http("/graphql", {
      method: "POST",
      headers: { "content-type": "text/plain", cookie: `hanko=${token}` },
      body: JSON.stringify({ query: print(NotesDocument) }),
    });
    expect(simple.status).toBeGreaterThanOrEqual(400);
    expect(simple.status).toBeLessThan(500);
  });

  it("answers CORS preflights for listed origins only", async () => {
    const preflight = (origin: string) =>
      api.http("/graphql", {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type,authorization" },
      });
    const listed = await preflight("https://app.example.com");
    expect(listed.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    const other = await preflight("https://evil.example.com");
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});
