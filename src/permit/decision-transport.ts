/**
 * The transport of the SDK's decision calls (check, bulkCheck, user permissions): one plain
 * node:http(s) request on a bounded keep-alive agent in place of axios's own adapter.
 *
 * A decision call is one small JSON body out and one in, on every request's path. axios's
 * adapter wraps each in follow-redirects, streams, decompression and proxy resolution, and on
 * loopback that costs the API more CPU than the PDP spends answering. axios itself stays (the
 * SDK's client, its headers, JSON transforms and status validation); only the adapter changes,
 * and its answers and errors keep axios's shapes: the same AxiosError codes (ECONNREFUSED,
 * ECONNABORTED on timeout, ERR_BAD_RESPONSE with the response), so the SDK, the breaker and
 * `describePermitError` read them as before.
 *
 * Anything a decision call does not use goes to axios's adapter unchanged: query params,
 * cancellation, non-JSON bodies or answers, and proxies (HTTP(S)_PROXY in the environment).
 * A redirect is not followed: the SDK refuses any status but 200, so it fails closed.
 */
import http from "node:http";
import https from "node:https";
import zlib from "node:zlib";
import axios, { AxiosError, type AxiosAdapter, type AxiosResponse, type InternalAxiosRequestConfig } from "axios";

export interface DecisionAgents {
  http: http.Agent;
  https: https.Agent;
}

const ABSOLUTE = /^([a-z][a-z\d+\-.]*:)?\/\//i;

/** The request's URL when the lean path can send it, otherwise null (axios's adapter sends it). */
function leanTarget(config: InternalAxiosRequestConfig): URL | null {
  if (config.signal || config.cancelToken || config.auth) return null;
  if (config.params && Object.keys(config.params as object).length > 0) return null;
  if (config.responseType && config.responseType !== "json" && config.responseType !== "text") return null;
  if (config.data !== undefined && config.data !== null && typeof config.data !== "string") return null;
  const path = config.url ?? "";
  const full = ABSOLUTE.test(path) || !config.baseURL ? path : `${config.baseURL.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
  const url = new URL(full);
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

/**
 * The adapter for the SDK's PDP client. axios's own adapter sends what the lean path does not,
 * and every call when the environment names a proxy (`viaProxy`, from config.ts).
 */
export function decisionTransport(agents: DecisionAgents, options: { viaProxy: boolean }): AxiosAdapter {
  const fallback = axios.getAdapter("http");
  if (options.viaProxy) return fallback;
  return (config) => {
    const url = leanTarget(config);
    return url ? send(url, config, agents) : fallback(config);
  };
}

function send(url: URL, config: InternalAxiosRequestConfig, agents: DecisionAgents): Promise<AxiosResponse> {
  return new Promise((resolve, reject) => {
    const body = typeof config.data === "string" ? config.data : undefined;
    const headers = config.headers.toJSON() as Record<string, string>;
    headers["accept-encoding"] = "identity";
    if (body !== undefined) headers["content-length"] = String(Buffer.byteLength(body));
    const secure = url.protocol === "https:";
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const fail = (error: AxiosError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      reject(error);
    };
    const request = (secure ? https : http).request(
      {
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method: (config.method ?? "get").toUpperCase(),
        headers,
        agent: secure ? agents.https : agents.http,
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const max = config.maxContentLength ?? -1;
        response.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (max > -1 && size > max) fail(new AxiosError(`maxContentLength size of ${max} exceeded`, AxiosError.ERR_BAD_RESPONSE, config, request));
          else chunks.push(chunk);
        });
        // Cut off mid-answer: axios's own words for it.
        const aborted = () => new AxiosError("stream has been aborted", AxiosError.ERR_BAD_RESPONSE, config, request);
        response.on("error", (error) => fail(response.complete ? AxiosError.from(error, (error as NodeJS.ErrnoException).code, config, request) : aborted()));
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
          const answer: AxiosResponse = { data, status, statusText: response.statusMessage ?? "", headers: response.headers, config, request };
          // axios's settle: the status is validated here, the JSON parsed by its transforms afterwards.
          if (!status || !config.validateStatus || config.validateStatus(status)) resolve(answer);
          else reject(new AxiosError(`Request failed with status code ${status}`, status >= 400 && status < 500 ? AxiosError.ERR_BAD_REQUEST : AxiosError.ERR_BAD_RESPONSE, config, request, answer));
        });
        response.on("close", () => {
          if (!response.complete) fail(aborted());
        });
      },
    );
    request.on("error", (error) => fail(AxiosError.from(error, (error as NodeJS.ErrnoException).code, config, request)));
    if (config.timeout && config.timeout > 0) {
      // One deadline for the whole call (connecting included), as axios's message and code say it.
      timer = setTimeout(() => {
        const clarify = config.transitional?.clarifyTimeoutError;
        fail(new AxiosError(config.timeoutErrorMessage ?? `timeout of ${config.timeout}ms exceeded`, clarify ? AxiosError.ETIMEDOUT : AxiosError.ECONNABORTED, config, request));
      }, config.timeout);
    }
    request.end(body);
  });
}
