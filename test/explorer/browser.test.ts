/**
 * The explorer as a person uses it, in a real Chromium (Debian's, or the one an npm package
 * ships; test/support/chromium.ts): sign in with an email (dev issuer),
 * run the default query, read the signed-in email in GraphiQL's result panel; sign out and the
 * same query answers UNAUTHENTICATED. Every request the page makes must stay on the API's
 * origin, and the page's policy must block nothing it needs.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { CreateNoteDocument } from "../generated/graphql";
import { waitFor } from "../support/subscriptions";
import { startTestApi, type TestApi } from "../support/api";
import { findChromium } from "../support/chromium";

const SCREENSHOT = "/tmp/explorer.png";
const EMAIL = "explorer-e2e@example.com";

let api: TestApi;
let profile: string;
let browser: BrowserContext;
let page: Page;
const requests: { url: string; method: string; headers: Record<string, string>; body: string | null }[] = [];
const problems: string[] = [];

beforeAll(async () => {
  const chromiumBinary = findChromium();
  profile = await mkdtemp(path.join(os.tmpdir(), "explorer-chromium-"));
  [api, browser] = await Promise.all([
    startTestApi(),
    // A persistent context is how playwright takes an explicit, fresh --user-data-dir.
    chromium.launchPersistentContext(profile, {
      executablePath: chromiumBinary.executablePath,
      headless: true,
      viewport: { width: 1280, height: 800 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        ...chromiumBinary.args.filter((arg) => !arg.startsWith("--headless")),
      ],
    }),
  ]);
  page = browser.pages()[0] ?? (await browser.newPage());
  page.on("request", (request) => requests.push({ url: request.url(), method: request.method(), headers: request.headers(), body: request.postData() }));
  // Errors include every request the page's Content-Security-Policy refuses.
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
});

afterAll(async () => {
  await browser?.close();
  await api?.stop();
  if (profile) await rm(profile, { recursive: true, force: true });
});

/** Runs the editor's operation and waits until the result panel contains `text`. */
async function runAndExpectResult(text: string): Promise<string> {
  await page.locator(".graphiql-execute-button").click();
  await page.locator(".result-window", { hasText: text }).waitFor({ timeout: 15_000 });
  return (await page.locator(".result-window").textContent()) ?? "";
}

it("signs in with an email, runs the default query as that user, and signs out", async () => {
  await page.goto(`${api.url}/explorer`);
  await page.locator("#dev-sign-in").waitFor({ state: "visible" });
  await expect(page.locator("#viewer").textContent()).resolves.toContain("Not signed in");
  // GraphiQL is up with the example operation in the editor.
  await page.locator(".graphiql-query-editor", { hasText: "query Overview" }).waitFor();

  // GraphiQL's dialogs add a <style> element, which the policy admits through its nonce.
  await page.locator("[aria-label='Open settings dialog']").click();
  await page.getByRole("dialog").waitFor();
  await page.keyboard.press("Escape");
  await page.getByRole("dialog").waitFor({ state: "detached" });

  await page.locator("#dev-email").fill(EMAIL);
  await page.locator("#dev-sign-in button[type=submit]").click();
  await page.locator("#viewer", { hasText: `Signed in as ${EMAIL}` }).waitFor();
  await expect(page.locator("#viewer").textContent()).resolves.toContain("roles: user");
  await expect(page.locator("#dev-sign-in").isHidden()).resolves.toBe(true);

  // A note of the same user (the dev issuer maps an email to one user id), so the result shows one.
  const created = await api.gql(CreateNoteDocument, { input: { title: "Written outside the explorer", body: "…" } }, await api.token(EMAIL));
  expect(created.errors).toBeUndefined();

  const signedIn = await runAndExpectResult(`"email": "${EMAIL}"`);
  expect(signedIn).toContain('"roles"');
  expect(signedIn).toContain('"title": "Written outside the explorer"');
  expect(signedIn).toContain('"put": true');
  expect(signedIn).not.toContain("UNAUTHENTICATED");
  await page.screenshot({ path: SCREENSHOT });

  // The query went out with the token as a bearer header, and no cookie.
  const overview = requests.filter((r) => r.url === `${api.url}/graphql` && r.body?.includes("query Overview"));
  expect(overview).toHaveLength(1);
  expect(overview[0]!.headers.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
  expect(overview[0]!.headers.cookie).toBeUndefined();
  // The token lives in the tab's sessionStorage, never in a cookie.
  await expect(page.evaluate<string[]>("Object.keys(sessionStorage)")).resolves.toEqual(["notes-explorer.dev-token"]);
  await expect(browser.cookies()).resolves.toEqual([]);

  await page.locator("#sign-out").click();
  await page.locator("#dev-sign-in").waitFor({ state: "visible" });
  await expect(page.locator("#viewer").textContent()).resolves.toContain("Not signed in");
  const signedOut = await runAndExpectResult("UNAUTHENTICATED");
  expect(signedOut).not.toContain(EMAIL);
  expect(signedOut).not.toContain("Written outside the explorer");
  const last = requests.filter((r) => r.url === `${api.url}/graphql` && r.body?.includes("query Overview")).at(-1)!;
  expect(last.headers.authorization).toBeUndefined();

  // Everything the page loaded came from the API itself (the harness's own calls go through
  // Node's fetch, not the browser), and nothing was refused or failed.
  const origins = [...new Set(requests.map((r) => new URL(r.url).origin))];
  expect(origins).toEqual([api.url]);
  expect(problems).toEqual([]);
});

it("offers the demo users with one click and the example operations as tabs, a denial among them", async () => {
  await page.goto(`${api.url}/explorer`);
  await page.locator("#dev-sign-in").waitFor({ state: "visible" });
  await page.locator(".demo-users button", { hasText: "alice" }).click();
  await page.locator("#viewer", { hasText: "Signed in as alice@example.com" }).waitFor();

  const tabs = page.locator(".graphiql-tab");
  await expect(tabs.allTextContents()).resolves.toEqual(
    ["Overview", "CreateNote", "UpdateNote", "DeleteNote", "Workspaces", "Share", "NoteEvents", "Denied"].map((name) => expect.stringContaining(name)),
  );
  await tabs.filter({ hasText: "Denied" }).click();
  await page.locator(".graphiql-query-editor", { hasText: "mutation Denied" }).waitFor();
  await page.locator(".graphiql-execute-button").click();
  const result = await page.locator(".result-window", { hasText: "FORBIDDEN" }).textContent();
  expect(result).toContain('"code": "FORBIDDEN"');
  expect(problems).toEqual([]);
});

it("runs the NoteEvents tab over WebSocket with the signed-in token, and shows a note created elsewhere", async () => {
  await page.goto(`${api.url}/explorer`);
  // Signed out whatever ran before in this tab.
  await page.evaluate("sessionStorage.clear()");
  await page.reload();
  await page.locator("#dev-sign-in").waitFor({ state: "visible" });
  await page.locator(".demo-users button", { hasText: "alice" }).click();
  await page.locator("#viewer", { hasText: "Signed in as alice@example.com" }).waitFor();
  await page.locator(".graphiql-tab", { hasText: "NoteEvents" }).click();
  await page.locator(".graphiql-query-editor", { hasText: "subscription NoteEvents" }).waitFor();
  await page.locator(".graphiql-execute-button").click();
  await waitFor(() => api.noteEvents.subscriberCount === 1, 15_000, "the explorer's subscription");

  // "Another tab": the note is written over HTTP by the same user while the subscription runs.
  const created = await api.gql(CreateNoteDocument, { input: { title: "Seen live" } }, await api.token("alice@example.com"));
  expect(created.errors).toBeUndefined();
  const result = await page.locator(".result-window", { hasText: created.data!.createNote.id }).textContent({ timeout: 15_000 });
  expect(result).toContain('"kind": "CREATED"');
  expect(result).toContain('"title": "Seen live"');
  expect(problems).toEqual([]);
});
