/**
 * The GraphiQL explorer: `GET /explorer` (and `/` redirecting to it) serves a page for people
 * exploring the API in a browser. Everything the page loads — GraphiQL, React, the page's own
 * script and styles, hanko-elements — is served from this process out of npm packages, so it
 * works without any network, and its Content-Security-Policy lets it load nothing else.
 *
 * Sign-in is either the dev issuer's token route (an email field) or real Hanko through the
 * `<hanko-auth>` element. Either way the token stays in the tab's sessionStorage and GraphiQL
 * sends it as `Authorization: Bearer`.
 */
import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

export const EXPLORER_PATH = "/explorer";
export const EXPLORER_ASSETS_PATH = `${EXPLORER_PATH}/assets`;

export type ExplorerSignIn =
  /** The embedded dev issuer: the page trades an email for a token at `tokenPath`. */
  | { kind: "dev"; tokenPath: string }
  /** Real Hanko at `publicUrl` (the URL browsers use for it). */
  | { kind: "hanko"; publicUrl: string };

export interface ExplorerOptions {
  signIn: ExplorerSignIn;
  /** Where the page sends GraphQL requests (same origin). */
  graphqlPath: string;
}

// Next to this file in `src/` and, copied by `npm run build`, in `dist/src/`.
const STATIC_DIR = path.join(__dirname, "static");

const CONTENT_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

/** A package's own directory (require.resolve finds its entry point, which may sit deeper). */
function packageFile(pkg: string, file: string): string {
  return path.join(path.dirname(require.resolve(`${pkg}/package.json`)), file);
}

/**
 * Every file the page may load, by the name it has under `/explorer/assets/`. Only these are
 * served, so no request path ever reaches the file system.
 */
function assetFiles(): Map<string, string> {
  return new Map([
    ["explorer.js", path.join(STATIC_DIR, "explorer.js")],
    ["explorer.css", path.join(STATIC_DIR, "explorer.css")],
    ["react.production.min.js", packageFile("react", "umd/react.production.min.js")],
    ["react-dom.production.min.js", packageFile("react-dom", "umd/react-dom.production.min.js")],
    ["graphiql.min.js", packageFile("graphiql", "graphiql.min.js")],
    ["graphiql.min.css", packageFile("graphiql", "graphiql.min.css")],
    // graphql-ws's browser bundle (the global `graphqlWs`): the page's subscriptions.
    ["graphql-ws.min.js", packageFile("graphql-ws", "umd/graphql-ws.min.js")],
    // The package's entry point is the self-contained ES module bundle (no imports of its own).
    ["hanko-elements.js", require.resolve("@teamhanko/hanko-elements")],
  ]);
}

interface LoadedAsset {
  body: Buffer;
  etag: string;
  contentType: string;
}

/** Reads each file once, on first request; a failed read is retried on the next request. */
function assetCache(files: Map<string, string>) {
  const loaded = new Map<string, Promise<LoadedAsset>>();
  return (name: string): Promise<LoadedAsset> | undefined => {
    const file = files.get(name);
    if (!file) return undefined;
    let asset = loaded.get(name);
    if (!asset) {
      asset = readFile(file).then((body) => ({
        body,
        etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`,
        contentType: CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream",
      }));
      asset.catch(() => loaded.delete(name));
      loaded.set(name, asset);
    }
    return asset;
  };
}

const escapeAttribute = (value: string) =>
  value.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/**
 * Fills the page template: keeps the `<!-- if:MODE -->…<!-- end:MODE -->` section of the sign-in
 * in use, drops the other, and substitutes the `{{name}}` values (attribute-escaped).
 */
export function renderExplorerPage(template: string, values: Record<string, string>, mode: ExplorerSignIn["kind"]): string {
  const sections = template.replace(/[ \t]*<!-- if:(\w+) -->\n?([\s\S]*?)[ \t]*<!-- end:\1 -->\n?/g, (_all, section: string, body: string) =>
    section === mode ? body : "",
  );
  return sections.replace(/\{\{(\w+)\}\}/g, (_all, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`explorer template: no value for {{${name}}}`);
    return escapeAttribute(value);
  });
}

/**
 * The page's policy: scripts, styles, fonts and images from this server only (GraphiQL's CSS
 * embeds its fonts and icons as data: URLs); requests to this server and, with real Hanko, to
 * Hanko. The nonce admits the `<style>` elements that hanko-elements (from the `<hanko-auth>`
 * element's nonce) and GraphiQL's dialogs (from the page script) add; no inline script is
 * allowed at all.
 */
export function contentSecurityPolicy(nonce: string, hankoOrigin?: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self' data:",
    "font-src 'self' data:",
    `connect-src 'self'${hankoOrigin ? ` ${hankoOrigin}` : ""}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

export function registerExplorer(app: FastifyInstance, options: ExplorerOptions): void {
  const asset = assetCache(assetFiles());
  let template: Promise<string> | undefined;
  const loadTemplate = () => {
    template ??= readFile(path.join(STATIC_DIR, "explorer.html"), "utf8");
    template.catch(() => (template = undefined));
    return template;
  };
  const { signIn } = options;
  const hankoOrigin = signIn.kind === "hanko" ? new URL(signIn.publicUrl).origin : undefined;

  app.get("/", async (_request: FastifyRequest, reply: FastifyReply) => reply.redirect(EXPLORER_PATH, 302));

  app.get(EXPLORER_PATH, async (_request: FastifyRequest, reply: FastifyReply) => {
    const nonce = randomBytes(16).toString("base64");
    const html = renderExplorerPage(
      await loadTemplate(),
      {
        assets: EXPLORER_ASSETS_PATH,
        graphqlPath: options.graphqlPath,
        signIn: signIn.kind,
        tokenPath: signIn.kind === "dev" ? signIn.tokenPath : "",
        hankoUrl: signIn.kind === "hanko" ? signIn.publicUrl : "",
        nonce,
      },
      signIn.kind,
    );
    return reply
      .header("content-security-policy", contentSecurityPolicy(nonce, hankoOrigin))
      .header("x-content-type-options", "nosniff")
      .header("referrer-policy", "no-referrer")
      // A fresh nonce per response: a cached copy would carry a stale one.
      .header("cache-control", "no-store")
      .type("text/html; charset=utf-8")
      .send(html);
  });

  app.get(`${EXPLORER_ASSETS_PATH}/:name`, async (request: FastifyRequest<{ Params: { name: string } }>, reply: FastifyReply) => {
    const found = asset(request.params.name);
    if (!found) return reply.callNotFound();
    const { body, etag, contentType } = await found;
    reply.header("etag", etag).header("cache-control", "no-cache").header("x-content-type-options", "nosniff");
    // Revalidated on every load (no-cache) and answered 304 when unchanged: cheap, and an
    // upgraded package is never served stale.
    if (request.headers["if-none-match"] === etag) return reply.code(304).send();
    return reply.type(contentType).send(body);
  });
}
