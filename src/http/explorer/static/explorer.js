// The explorer page's script. It is a served file, not an inline script, because the page's
// Content-Security-Policy allows scripts from this server only. React, ReactDOM and GraphiQL
// are the globals of the UMD bundles that the page loads before this module runs.
const { React, ReactDOM, GraphiQL, graphqlWs } = window;

const settings = document.body.dataset;

// GraphiQL's dialogs (Radix, via react-remove-scroll) add a <style> element and give it the
// nonce found in this global; without it the page's style-src refuses that style.
window.__webpack_nonce__ = document.getElementById("explorer-style").nonce;

const DEV_TOKEN_KEY = "notes-explorer.dev-token";
// hanko-elements keeps its session token in sessionStorage under this key (its `storageKey`).
const HANKO_STORAGE_KEY = "hanko";

// The example operations, one tab each (GraphiQL keeps the tabs a person opens or edits).
const TABS = [
  {
    query: `# Sign in above (npm run seed creates alice, bob and carol), then run with Ctrl-Enter or ▶.
# viewerCan: what Permit.io allows you on each note, from the decisions that enforce it.
query Overview {
  me {
    email
    roles
  }
  notes(first: 10) {
    edges {
      node {
        id
        title
        updatedAt
        owner { email }
        workspace { name }
        viewerCan {
          get
          put
          delete
        }
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
`,
  },
  {
    query: `# Create a note, then use its id in the UpdateNote and DeleteNote tabs.
mutation CreateNote {
  createNote(input: { title: "From the explorer", body: "first draft" }) {
    id
    version
  }
}
`,
  },
  {
    query: `# expectedVersion: if someone changed the note since you read it, the update is a
# CONFLICT (extensions.currentVersion says where it is) instead of silently overwriting.
mutation UpdateNote($id: ID!, $expectedVersion: Int) {
  updateNote(id: $id, input: { body: "second draft", expectedVersion: $expectedVersion }) {
    id
    body
    version
  }
}
`,
    variables: `{ "id": "the id CreateNote returned", "expectedVersion": 1 }`,
  },
  {
    query: `mutation DeleteNote($id: ID!) {
  deleteNote(id: $id)
}
`,
    variables: `{ "id": "the id CreateNote returned" }`,
  },
  {
    query: `# Workspaces need the premium plan (bob has it after npm run seed). Their roles
# (OWNER, EDITOR, VIEWER) flow to the notes inside them. As bob, share with the Share tab.
query Workspaces {
  workspaces {
    id
    name
    viewerRole
    members { role user { email } }
    viewerCan { get put delete share addNote }
  }
}
`,
  },
  {
    query: `# Only a workspace's OWNER may share it (an EDITOR gets FORBIDDEN).
mutation Share($workspaceId: ID!, $email: String!, $role: WorkspaceRole!) {
  shareWorkspace(workspaceId: $workspaceId, email: $email, role: $role) {
    role
    user { email }
  }
}
`,
    variables: `{ "workspaceId": "an id from the Workspaces tab", "email": "carol@example.com", "role": "VIEWER" }`,
  },
  {
    query: `# Live updates: run this, then create or edit a note in another tab (or as another
# user in another browser window). Events arrive here as they are committed, each one
# only if you may read that note at that moment. Add workspaceId to watch one workspace.
subscription NoteEvents($workspaceId: ID) {
  noteEvents(workspaceId: $workspaceId) {
    kind
    noteId
    version
    at
    note {
      title
      body
    }
  }
}
`,
  },
  {
    query: `# What a denial looks like. As alice (role user, not premium) this answers FORBIDDEN:
# she may know workspaces exist, but not create one.
# A note or workspace you may not read answers NOT_FOUND instead, exactly as one that
# does not exist, so nobody learns what exists by asking. extensions.code is stable;
# the message is for people.
mutation Denied {
  createWorkspace(input: { name: "alice tries" }) {
    id
  }
}
`,
  },
];

const ui = {
  viewer: document.getElementById("viewer"),
  signOut: document.getElementById("sign-out"),
  error: document.getElementById("sign-in-error"),
  devForm: document.getElementById("dev-sign-in"),
  devEmail: document.getElementById("dev-email"),
  demoUsers: document.querySelectorAll(".demo-users button"),
  hankoPanel: document.getElementById("hanko-sign-in"),
};

/**
 * The current sign-in: `token()` is the session token or null, `forget()` drops it from this
 * tab, `signOut()` ends the session.
 */
let session = { token: () => null, forget: () => undefined, signOut: async () => undefined };

function showError(message) {
  ui.error.textContent = message ?? "";
  ui.error.hidden = !message;
}

function showSignedIn(me) {
  const roles = me.roles.length > 0 ? me.roles.join(", ") : "none";
  ui.viewer.textContent = `Signed in as ${me.email ?? "(no email)"} · roles: ${roles}`;
  ui.signOut.hidden = false;
  if (ui.devForm) ui.devForm.hidden = true;
  if (ui.hankoPanel) ui.hankoPanel.hidden = true;
  showError(null);
}

function showSignedOut(message) {
  ui.viewer.textContent = "Not signed in: operations answer UNAUTHENTICATED.";
  ui.signOut.hidden = true;
  if (ui.devForm) ui.devForm.hidden = false;
  if (ui.hankoPanel) ui.hankoPanel.hidden = false;
  showError(message);
}

/**
 * POSTs one GraphQL request with the session token as a bearer header. Cookies are never sent
 * (`credentials: "omit"`): the API also accepts a `hanko` cookie, and the explorer must not
 * depend on one.
 */
async function postGraphQL(params, headers = {}) {
  const token = session.token();
  const response = await fetch(settings.graphqlPath, {
    method: "POST",
    credentials: "omit",
    headers: {
      "content-type": "application/json",
      accept: "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: JSON.stringify(params),
  });
  const text = await response.text();
  let payload;
  try {
    payload = JSON.parse(text);
  } catch {
    payload = { errors: [{ message: `HTTP ${response.status}: ${text.slice(0, 500)}` }] };
  }
  // 401: the token no longer verifies (expired or revoked). Drop it rather than resend it.
  if (response.status === 401 && token) {
    session.forget();
    showSignedOut("The session token was refused (HTTP 401); sign in again.");
  }
  return payload;
}

async function refreshViewer() {
  if (!session.token()) {
    showSignedOut(null);
    return;
  }
  try {
    const payload = await postGraphQL({ query: "query ExplorerViewer { me { email roles } }", operationName: "ExplorerViewer" });
    if (payload.data?.me) showSignedIn(payload.data.me);
    else showSignedOut(payload.errors?.[0]?.message ?? "Could not read the signed-in user.");
  } catch (error) {
    showSignedOut(`The API did not answer: ${error.message}`);
  }
}

/** Dev issuer: an email is exchanged for a token at the API's dev token route. */
function startDevSession() {
  ui.devForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const response = await fetch(settings.tokenPath, {
        method: "POST",
        credentials: "omit",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: ui.devEmail.value.trim() }),
      });
      const body = await response.json().catch(() => null);
      if (!response.ok || typeof body?.token !== "string") {
        showError(body?.error?.message ?? `Sign-in failed (HTTP ${response.status}).`);
        return;
      }
      sessionStorage.setItem(DEV_TOKEN_KEY, body.token);
      await refreshViewer();
    } catch (error) {
      showError(`Sign-in failed: ${error.message}`);
    }
  });
  // The demo users of `npm run seed`, one click each.
  for (const button of ui.demoUsers) {
    button.addEventListener("click", () => {
      ui.devEmail.value = button.dataset.email;
      ui.devForm.requestSubmit();
    });
  }
  const forget = () => sessionStorage.removeItem(DEV_TOKEN_KEY);
  return { token: () => sessionStorage.getItem(DEV_TOKEN_KEY), forget, signOut: async () => forget() };
}

/** Real Hanko: the <hanko-auth> element runs the passkey flow against HANKO_PUBLIC_URL. */
async function startHankoSession() {
  const { register } = await import("./hanko-elements.js");
  const { hanko } = await register(settings.hankoUrl, { sessionTokenLocation: "sessionStorage", storageKey: HANKO_STORAGE_KEY });
  hanko.onSessionCreated(() => void refreshViewer());
  hanko.onSessionExpired(() => showSignedOut("The Hanko session expired; sign in again."));
  hanko.onUserLoggedOut(() => showSignedOut(null));
  const forget = () => sessionStorage.removeItem(HANKO_STORAGE_KEY);
  return {
    // hanko-elements 2.7.0's getSessionToken() reads only the cookie, even with
    // sessionTokenLocation "sessionStorage"; the token is then in sessionStorage.
    token: () => hanko.getSessionToken() || sessionStorage.getItem(HANKO_STORAGE_KEY),
    forget,
    signOut: async () => {
      try {
        await hanko.logout();
      } finally {
        // logout() leaves the token in place when Hanko cannot be reached.
        forget();
      }
    },
  };
}

ui.signOut.addEventListener("click", async () => {
  try {
    await session.signOut();
    showSignedOut(null);
  } catch (error) {
    showSignedOut(`Signed out here; Hanko answered: ${error.message}`);
  }
});

/**
 * GraphiQL 4.1 keeps the operation name of the tab it started on after a switch to another tab
 * until that tab's text is edited, so a tab's single operation would be refused as unknown. A
 * name the document does not define is dropped: the server then runs the only operation there.
 */
function ownOperationName(params) {
  const name = params.operationName;
  if (!name || new RegExp(`\\b(query|mutation|subscription)\\s+${name}\\b`).test(params.query ?? "")) return params;
  const { operationName: _stale, ...rest } = params;
  return rest;
}

/**
 * Subscriptions run over graphql-ws on the GraphQL path, with the signed-in token in
 * ConnectionInit. One socket per token: signing in as someone else starts a new one.
 */
let live = { token: null, client: null };
function liveClient() {
  const token = session.token();
  if (live.client && live.token === token) return live.client;
  live.client?.dispose();
  const url = new URL(settings.graphqlPath, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  live = {
    token,
    client: graphqlWs.createClient({ url: url.href, lazy: true, connectionParams: () => (token ? { authorization: `Bearer ${token}` } : {}) }),
  };
  return live.client;
}

const isSubscription = (query) => /^\s*subscription\b/m.test((query ?? "").replace(/#[^\n]*/g, ""));

const fetcher = (params, options) =>
  isSubscription(params.query) ? liveClient().iterate(ownOperationName(params)) : postGraphQL(ownOperationName(params), options?.headers);
ReactDOM.createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, { fetcher, defaultTabs: TABS, defaultEditorToolsVisibility: false }, React.createElement(GraphiQL.Logo, null, "GraphiQL")),
);

try {
  session = settings.signIn === "hanko" ? await startHankoSession() : startDevSession();
  await refreshViewer();
} catch (error) {
  showSignedOut(`Sign-in is unavailable: ${error.message}`);
}
