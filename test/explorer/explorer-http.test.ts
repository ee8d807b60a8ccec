/**
 * The explorer over real HTTP: the page and every file it loads are served by the API with the
 * right types and policy, nothing points at another origin (except the configured Hanko), each
 * sign-in mode renders only its own form, and EXPLORER=off removes it all.
 */
import { startTestApi, type TestApi } from "../support/api";

const HANKO_PUBLIC_URL = "https://login.hanko.example.test";

let dev: TestApi;
let hanko: TestApi;
let off: TestApi;

beforeAll(async () => {
  [dev, hanko, off] = await Promise.all([
    startTestApi(),
    // Never contacted: the page only names Hanko, and no token is verified here.
    startTestApi({ HANKO_API_URL: "http://127.0.0.1:9/hanko", HANKO_PUBLIC_URL }),
    startTestApi({ EXPLORER: "off" }),
  ]);
});
afterAll(() => Promise.all([dev?.stop(), hanko?.stop(), off?.stop()]));

interface Page {
  html: string;
  csp: string;
  response: Response;
}

async function getPage(api: TestApi): Promise<Page> {
  const response = await api.http("/explorer");
  expect(response.status).toBe(200);
  return { html: await response.text(), csp: response.headers.get("content-security-policy") ?? "", response };
}

function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp
      .split(";")
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...values]) => [name!, values]),
  );
}

/** The same-origin paths the page loads: script src, stylesheet href, and what explorer.js imports. */
async function referencedAssets(api: TestApi, html: string): Promise<string[]> {
  const fromHtml = [...html.matchAll(/<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((u) => !u.startsWith("data:"));
  const script = await (await api.http("/explorer/assets/explorer.js")).text();
  const imported = [...script.matchAll(/import\(\s*["']\.\/([^"']+)["']\s*\)/g)].map((m) => `/explorer/assets/${m[1]}`);
  return [...new Set([...fromHtml, ...imported])];
}

/** Origins of the absolute http(s) URLs in a text; bare scheme prefixes ("http://" + x) name none. */
function externalOrigins(text: string): Set<string> {
  const origins = new Set<string>();
  for (const [url] of text.matchAll(/https?:\/\/[^\s"'`()<>\\,;]+/g)) {
    try {
      origins.add(new URL(url).origin);
    } catch {
      // Not a URL (a prefix followed by a template expression): nothing to load.
    }
  }
  return origins;
}

/**
 * Origins that the pinned vendor bundles mention without loading anything from them (reviewed
 * for graphiql 4.1.2, react-dom 18.3.1, hanko-elements 2.7.0): XML namespace identifiers,
 * documentation links in error messages, a license header, and GraphiQL's keyboard-shortcut
 * help link. A new origin after an upgrade fails here until someone has looked at it.
 */
const MENTIONED_NOT_LOADED: Record<string, string[]> = {
  "/explorer/assets/react-dom.production.min.js": ["http://www.w3.org", "https://reactjs.org"],
  "/explorer/assets/graphiql.min.js": [
    "http://www.w3.org",
    "https://en.wikipedia.org",
    "https://commonmark.org",
    "https://github.com",
    "https://radix-ui.com",
    "https://codemirror.net",
  ],
  "/explorer/assets/hanko-elements.js": ["http://www.w3.org"],
};

describe("the explorer page (dev issuer)", () => {
  it("redirects / to /explorer, and serves it as HTML that is never cached", async () => {
    const root = await dev.http("/", { redirect: "manual" });
    expect(root.status).toBe(302);
    expect(root.headers.get("location")).toBe("/explorer");

    const { response } = await getPage(dev);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("sends a Content-Security-Policy that allows this server only, with a fresh nonce per response", async () => {
    const first = await getPage(dev);
    const policy = directives(first.csp);
    expect(policy.get("default-src")).toEqual(["'self'"]);
    expect(policy.get("script-src")).toEqual(["'self'"]);
    expect(policy.get("connect-src")).toEqual(["'self'"]);
    expect(policy.get("img-src")).toEqual(["'self'", "data:"]);
    expect(policy.get("font-src")).toEqual(["'self'", "data:"]);
    expect(policy.get("object-src")).toEqual(["'none'"]);
    expect(policy.get("frame-ancestors")).toEqual(["'none'"]);
    const style = policy.get("style-src")!;
    expect(style).toHaveLength(2);
    expect(style[0]).toBe("'self'");
    expect(style[1]).toMatch(/^'nonce-[A-Za-z0-9+/]{22}=='$/);
    expect(first.csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);

    const second = await getPage(dev);
    expect(directives(second.csp).get("style-src")![1]).not.toBe(style[1]);
  });

  it("has no inline script, event handler or style attribute", async () => {
    const { html } = await getPage(dev);
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/\bsrc="\/explorer\/assets\/[^"]+"/);
      expect(body!.trim()).toBe("");
    }
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    expect(html).not.toMatch(/\sstyle\s*=/i);
  });

  it("serves every file the page loads from this server, with its content type", async () => {
    const { html } = await getPage(dev);
    const assets = await referencedAssets(dev, html);
    expect(assets.sort()).toEqual([
      "/explorer/assets/explorer.css",
      "/explorer/assets/explorer.js",
      "/explorer/assets/graphiql.min.css",
      "/explorer/assets/graphiql.min.js",
      "/explorer/assets/graphql-ws.min.js",
      "/explorer/assets/hanko-elements.js",
      "/explorer/assets/react-dom.production.min.js",
      "/explorer/assets/react.production.min.js",
    ]);
    for (const asset of assets) {
      const response = await dev.http(asset);
      expect({ asset, status: response.status }).toEqual({ asset, status: 200 });
      const type = asset.endsWith(".css") ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8";
      expect({ asset, type: response.headers.get("content-type") }).toEqual({ asset, type });
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(500);
    }
  });

  it("answers 304 to a matching If-None-Match and 200 to a stale one", async () => {
    const first = await dev.http("/explorer/assets/graphiql.min.css");
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect(first.headers.get("cache-control")).toBe("no-cache");
    expect((await dev.http("/explorer/assets/graphiql.min.css", { headers: { "if-none-match": etag } })).status).toBe(304);
    expect((await dev.http("/explorer/assets/graphiql.min.css", { headers: { "if-none-match": '"stale"' } })).status).toBe(200);
  });

  it("serves nothing but the listed assets", async () => {
    expect((await dev.http("/explorer/assets/explorer.js")).status).toBe(200);
    for (const pathname of [
      "/explorer/assets/explorer.html",
      "/explorer/assets/unknown.js",
      "/explorer/assets/..%2Findex.ts",
      "/explorer/assets/..%2F..%2F..%2Fpackage.json",
      "/explorer/assets/%2e%2e/explorer.js",
    ]) {
      expect({ pathname, status: (await dev.http(pathname)).status }).toEqual({ pathname, status: 404 });
    }
  });

  it("references no external origin: the page and its own files none, vendor bundles only reviewed mentions", async () => {
    const { html } = await getPage(dev);
    expect([...externalOrigins(html)]).toEqual([]);
    for (const asset of await referencedAssets(dev, html)) {
      // Exactly the reviewed list: this also shows the scan finds what is there.
      const found = [...externalOrigins(await (await dev.http(asset)).text())].sort();
      expect({ asset, found }).toEqual({ asset, found: [...(MENTIONED_NOT_LOADED[asset] ?? [])].sort() });
    }
  });

  it("no bundle loads code or styles from a URL (imports, source maps, CSS url()/@import)", async () => {
    const { html } = await getPage(dev);
    for (const asset of await referencedAssets(dev, html)) {
      const text = await (await dev.http(asset)).text();
      const loads = text.match(/(?:\bimport\s*\(?\s*|\bfrom\s*|sourceMappingURL=|url\(\s*["']?|@import\s+["']?)https?:/g) ?? [];
      expect({ asset, loads }).toEqual({ asset, loads: [] });
    }
  });

  it("shows the dev sign-in form and not Hanko's element", async () => {
    const { html } = await getPage(dev);
    expect(html).toContain('data-sign-in="dev"');
    expect(html).toContain('data-token-path="/dev/token"');
    expect(html).toContain('id="dev-sign-in"');
    expect(html).not.toContain("<hanko-auth");
    expect(html).not.toMatch(/\{\{|<!-- (if|end):/);
  });
});

describe("the explorer page (real Hanko)", () => {
  it("renders <hanko-auth> carrying the policy's nonce, and no dev form", async () => {
    const { html, csp } = await getPage(hanko);
    const nonce = /'nonce-([^']+)'/.exec(csp)![1];
    expect(html).toContain(`<hanko-auth nonce="${nonce}"></hanko-auth>`);
    expect(html).toContain('data-sign-in="hanko"');
    expect(html).toContain(`data-hanko-url="${HANKO_PUBLIC_URL}"`);
    expect(html).not.toContain('id="dev-sign-in"');
    // Without the dev issuer there is no token route to point at.
    expect((await hanko.http("/dev/token", { method: "POST" })).status).toBe(404);
  });

  it("lets the page reach the configured Hanko origin and no other", async () => {
    const { html, csp } = await getPage(hanko);
    expect(directives(csp).get("connect-src")).toEqual(["'self'", HANKO_PUBLIC_URL]);
    expect(directives(csp).get("script-src")).toEqual(["'self'"]);
    expect([...externalOrigins(html)]).toEqual([HANKO_PUBLIC_URL]);
    // The dev-mode page names no origin at all (compared above), so this one names Hanko only.
    expect([...externalOrigins((await getPage(dev)).html)]).toEqual([]);
  });
});

describe("EXPLORER=off", () => {
  it("serves no page, redirect or asset, while the API answers", async () => {
    for (const pathname of ["/", "/explorer", "/explorer/assets/explorer.js", "/explorer/assets/graphiql.min.js"]) {
      expect({ pathname, status: (await off.http(pathname, { redirect: "manual" })).status }).toEqual({ pathname, status: 404 });
      expect({ pathname, status: (await dev.http(pathname, { redirect: "manual" })).status }).toEqual({
        pathname,
        status: pathname === "/" ? 302 : 200,
      });
    }
    expect((await off.http("/healthz")).status).toBe(200);
    // Nor does a browser's GET /graphql lead to a page.
    expect((await off.http("/graphql", { headers: { accept: "text/html" }, redirect: "manual" })).status).toBe(400);
  });
});

describe("Apollo's landing page", () => {
  it("is gone: a browser's GET /graphql gets no page that loads Sandbox from a CDN", async () => {
    const response = await dev.http("/graphql", { headers: { accept: "text/html" }, redirect: "manual" });
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/explorer");
    expect(await response.text()).not.toMatch(/sandbox|cdn/i);
    // The API itself still answers GET queries.
    const query = await dev.http(`/graphql?query=${encodeURIComponent("{ __typename }")}`, { headers: { "apollo-require-preflight": "1" } });
    expect(await query.json()).toEqual({ data: { __typename: "Query" } });
  });
});
