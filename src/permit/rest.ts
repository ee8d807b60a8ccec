/**
 * Permit REST plumbing shared by every caller in this project: reading every page of a list,
 * and treating an expected HTTP status as an outcome rather than a failure (404: the object
 * is not there; 409: it is there already).
 */
import { PermitApiError } from "permitio";

/** Page size of every list call (Permit's default page is smaller than what we need). */
export const PAGE_SIZE = 100;
const MAX_PAGES = 1000;

/** The HTTP status of a failed Permit REST call, if it got an answer. */
const permitStatus = (err: unknown): number | undefined => (err instanceof PermitApiError ? err.response?.status : undefined);

/**
 * Reads every page of a paginated list. Stops at the first short page, and also when a page
 * repeats the previous one: a server that ignores `page` would otherwise be read forever.
 */
export async function listAll<T>(fetchPage: (page: number, perPage: number) => Promise<T[]>): Promise<T[]> {
  const all: T[] = [];
  let previous = "";
  for (let page = 1; page <= MAX_PAGES; page++) {
    const items = await fetchPage(page, PAGE_SIZE);
    const signature = JSON.stringify(items[0] ?? null);
    if (page > 1 && signature === previous) break;
    previous = signature;
    all.push(...items);
    if (items.length < PAGE_SIZE) break;
  }
  return all;
}

/** Runs a Permit REST call; a failure with one of `statuses` answers undefined instead of throwing. */
export async function tolerating<T>(statuses: readonly number[], call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (err) {
    const status = permitStatus(err);
    if (status !== undefined && statuses.includes(status)) return undefined;
    throw err;
  }
}

/** True when the call succeeded, false when it failed with one of `statuses`; other failures throw. */
export async function succeeded(statuses: readonly number[], call: () => Promise<unknown>): Promise<boolean> {
  return (await tolerating(statuses, async () => (await call(), true))) ?? false;
}

/** Runs a Permit REST read, answering undefined for 404 (the object does not exist). */
export const orMissing = <T>(call: () => Promise<T>): Promise<T | undefined> => tolerating([404], call);
