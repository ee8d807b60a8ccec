/**
 * The transport of the SDK's decision calls (check, bulkCheck, user permissions): one plain
 * node:http(s) request on a bounded keep-alive agent, with one JSON serialization each way.
 *
 * A decision call is one small JSON body out and one in, on every request's path. Through
 * axios, each also merges configs, runs the interceptors, normalizes headers, and its adapter
 * adds follow-redirects, streams, decompression and proxy resolution: on loopback that cost the
 * API more CPU than the PDP spends answering. So the SDK's PDP client gets a `post` of its own
 * for the calls the SDK makes (a path, a JSON body, a timeout and an Authorization header);
 * anything else it is asked goes through its axios instance as before, on the same agents.
 * Answers and errors keep axios's shapes (AxiosError with the same codes, messages and
 * response), so the SDK, the breaker and `describePermitError` read them as before;
 * decision-transport.test.ts compares both with the SDK's own client.
 *
 * With a proxy in the environment (HTTP(S)_PROXY), every call stays on axios's own adapter,
 * which honours it. A redirect is not followed: the SDK refuses any status but 200, so it fails
 * closed.
 */
import http from "node:http";
import https from "node:https";
import zlib from "node:zlib";
import { AxiosError, type AxiosInstance, type AxiosRequestConfig, type AxiosResponse, type InternalAxiosRequestConfig } from "axios";

export interface DecisionAgents {
  http: http.Agent;
  https: https.Agent;
}

/** One request as the lean path sends it. `config` is what axios's errors and answers carry. */
interface Outgoing {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  timeoutMs: number;
  config: InternalAxiosRequestConfig;
}

const ABSOLUTE = /^([a-z][a-z\d+\-.]*:)?\/\//i;

/** The URL axios would call, or null when it is not plain HTTP(S) (axios then sends it, and fails as it does). */
function fullUrl(baseURL: string | undefined, path: string): URL | null {
  let url: URL;
  try {
    url = new URL(ABSOLUTE.test(path) || !baseURL ? path : `${baseURL.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`);
  } catch {
    return null;
  }
  return url.protocol === "http:" || url.protocol === "https:" ? url : null;
}

function decoded(body: Buffer, encoding: string | undefined): Buffer {
  switch (encoding?.toLowerCase()) {
    case undefined:
    case "":
    case "identity":
      return body;
    case "gzip":
    case "x-gzip":
      return zlib.gunzipSync(body);
    case "deflate":
      return zlib.inflateSync(body);
    case "br":
      return zlib.brotliDecompressSync(body);
    default:
      throw new Error(`unsupported content-encoding ${encoding}`);
  }
}

/** A connection the server closed while it sat in the pool: the request never reached it. */
const STALE_CONNECTION = new Set(["ECONNRESET", "EPIPE"]);

/**
 * The answer with its body as text; rejected as axios rejects (its `settle`) when the status is
 * not valid. A request sent on a pooled connection that the server had already closed (it fails
 * before any answer, as a server's keep-alive timeout can close it the moment it is reused) is
 * sent once more on a new connection, within the same deadline: decision calls only read.
 */
function send(out: Outgoing, agents: DecisionAgents): Promise<AxiosResponse<string>> {
  const { config } = out;
  return new Promise((resolve, reject) => {
    out.headers["accept-encoding"] = "identity";
    if (out.body !== undefined) out.headers["content-length"] = String(Buffer.byteLength(out.body));
    const secure = out.url.protocol === "https:";
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let request: http.ClientRequest;
    const fail = (error: AxiosError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      reject(error);
    };
    const attempt = (retried: boolean) => {
      let answered = false;
      request = (secure ? https : http).request(
        {
          protocol: out.url.protocol,
          hostname: out.url.hostname,
          port: out.url.port,
          path: `${out.url.pathname}${out.url.search}`,
          method: out.method,
          headers: out.headers,
          agent: secure ? agents.https : agents.http,
        },
        (response) => {
          answered = true;
          const chunks: Buffer[] = [];
          let size = 0;
          const max = config.maxContentLength ?? -1;
          // Cut off mid-answer: axios's own words for it.
          const aborted = () => new AxiosError("stream has been aborted", AxiosError.ERR_BAD_RESPONSE, config, request);
          response.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (max > -1 && size > max) fail(new AxiosError(`maxContentLength size of ${max} exceeded`, AxiosError.ERR_BAD_RESPONSE, config, request));
            else chunks.push(chunk);
          });
          response.on("error", (error) => fail(response.complete ? AxiosError.from(error, (error as NodeJS.ErrnoException).code, config, request) : aborted()));
          response.on("close", () => {
            if (!response.complete) fail(aborted());
          });
          response.on("end", () => {
            if (settled) return;
            let data: string;
            try {
              data = decoded(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), response.headers["content-encoding"]).toString("utf8");
            } catch (error) {
              fail(AxiosError.from(error, AxiosError.ERR_BAD_RESPONSE, config, request));
              return;
            }
            settled = true;
            clearTimeout(timer);
            const status = response.statusCode ?? 0;
            const answer: AxiosResponse<string> = { data, status, statusText: response.statusMessage ?? "", headers: response.headers, config, request };
            if (!status || !config.validateStatus || config.validateStatus(status)) resolve(answer);
            else reject(new AxiosError(`Request failed with status code ${status}`, status >= 400 && status < 500 ? AxiosError.ERR_BAD_REQUEST : AxiosError.ERR_BAD_RESPONSE, config, request, answer));
          });
        },
      );
      const sent = request;
      sent.on("error", (error: NodeJS.ErrnoException) => {
        if (settled || sent !== request) return;
        if (!retried && !answered && sent.reusedSocket && error.code !== undefined && STALE_CONNECTION.has(error.code)) return attempt(true);
        fail(AxiosError.from(error, error.code, config, sent));
      });
      sent.end(out.body);
    };
    if (out.timeoutMs > 0) {
      // One deadline for the whole call (connecting and a second attempt included), in axios's words.
      timer = setTimeout(() => {
        const clarify = config.transitional?.clarifyTimeoutError;
        fail(new AxiosError(config.timeoutErrorMessage ?? `timeout of ${out.timeoutMs}ms exceeded`, clarify ? AxiosError.ETIMEDOUT : AxiosError.ECONNABORTED, config, request));
      }, out.timeoutMs);
    }
    attempt(false);
  });
}

/** JSON when the text is JSON, the text otherwise: axios's default (`silentJSONParsing`). */
function parsed(text: string): unknown {
  if (text === "") return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Fits the SDK's PDP client (an axios instance) with the lean transport: the bounded agents, and
 * a `post` that skips axios for the calls the SDK makes (anything else stays with the instance).
 * Returns the client to put in the instance's place.
 */
export function decisionClient(original: AxiosInstance, agents: DecisionAgents, options: { viaProxy: boolean }): AxiosInstance {
  original.defaults.httpAgent = agents.http;
  original.defaults.httpsAgent = agents.https;
  if (options.viaProxy) return original;
  const client = Object.create(original) as AxiosInstance;
  // The headers axios would send a JSON post (its common and post defaults, the instance's own: the SDK's version), once.
  const common: Record<string, string> = {};
  const configured = original.defaults.headers as unknown as Record<string, unknown> & { common?: Record<string, unknown>; post?: Record<string, unknown> };
  for (const source of [configured.common ?? {}, configured.post ?? {}, configured]) {
    for (const [name, value] of Object.entries(source)) if (typeof value === "string") common[name] = value;
  }
  common["Content-Type"] = "application/json";
  const defaults = original.defaults;
  // The SDK posts to a handful of paths on one base URL: each is parsed once.
  const urls = new Map<string, URL | null>();
  const urlOf = (path: string): URL | null => {
    if (!urls.has(path)) urls.set(path, fullUrl(defaults.baseURL, path));
    return urls.get(path)!;
  };
  client.post = (<T>(path: string, data?: unknown, config?: AxiosRequestConfig) => {
    const url = urlOf(path);
    const headers = config?.headers as Record<string, unknown> | undefined;
    const simple =
      url &&
      (data === undefined || (typeof data === "object" && data !== null)) &&
      (!config || Object.keys(config).every((key) => key === "headers" || key === "timeout")) &&
      (!headers || Object.values(headers).every((v) => typeof v === "string"));
    if (!simple) return original.post<T>(path, data, config);
    const merged = { ...common, ...(headers as Record<string, string> | undefined) };
    const timeoutMs = config?.timeout ?? defaults.timeout ?? 0;
    const body = JSON.stringify(data);
    // What axios's errors and answers carry as their config.
    const requestConfig = { url: path, baseURL: defaults.baseURL, method: "post", data: body, timeout: timeoutMs, validateStatus: defaults.validateStatus, transitional: defaults.transitional, maxContentLength: defaults.maxContentLength, headers: merged } as unknown as InternalAxiosRequestConfig;
    return send({ url, method: "POST", headers: { ...merged }, body, timeoutMs, config: requestConfig }, agents).then(
      (answer) => ({ ...answer, data: parsed(answer.data) as T }),
      (error: AxiosError<string>) => {
        if (error.response) error.response = { ...error.response, data: parsed(error.response.data) as string };
        throw error;
      },
    );
  }) as AxiosInstance["post"];
  return client;
}
