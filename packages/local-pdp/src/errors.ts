/**
 * Errors in the shapes the permitio SDK and Permit's clients expect: an `ErrorDetails` body
 * for 4xx API errors and FastAPI's `{detail:[…]}` for validation errors. Every body carries
 * `message`, because the SDK surfaces `response.data.message` as the error message.
 */
import { randomBytes } from "node:crypto";

export type ErrorCode =
  | "NOT_FOUND"
  | "DUPLICATE_ENTITY"
  | "INVALID_INPUT"
  | "MISMATCH_RESOURCE_INSTANCES_TENANTS"
  | "MISMATCH_RELATION_TYPE"
  | "CONFLICT"
  | "UNAUTHORIZED"
  | "UNAVAILABLE";

const TITLES: Record<number, string> = {
  400: "Bad request",
  401: "Unauthorized",
  404: "Not found",
  409: "Conflict",
  422: "Validation error",
  503: "Service unavailable",
};

export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly issues?: ValidationIssue[],
  ) {
    super(message);
    this.name = "ApiError";
  }

  body(): Record<string, unknown> {
    if (this.status === 422) {
      return { detail: this.issues ?? [{ loc: ["body"], msg: this.message, type: "value_error" }], message: this.message };
    }
    if (this.status === 401) return { detail: this.message, message: this.message };
    return {
      id: randomBytes(16).toString("hex"),
      title: TITLES[this.status] ?? "Error",
      error_code: this.code,
      message: this.message,
      additional_info: {},
    };
  }
}

export const notFound = (what: string): ApiError => new ApiError(404, "NOT_FOUND", `${what} not found`);
export const duplicate = (what: string): ApiError => new ApiError(409, "DUPLICATE_ENTITY", `${what} already exists`);
export const conflict = (message: string): ApiError => new ApiError(409, "CONFLICT", message);
export const badRequest = (message: string, code: ErrorCode = "INVALID_INPUT"): ApiError => new ApiError(400, code, message);

export function invalid(loc: (string | number)[], msg: string, type = "value_error"): ApiError {
  return new ApiError(422, "INVALID_INPUT", `${loc.join(".")}: ${msg}`, [{ loc, msg, type }]);
}
