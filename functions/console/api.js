// The query API, called with the API key kept in this tab's session storage.

const KEY_NAME = "eventhub.apiKey";
export const EVENTS = "/api/v1/events";

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export function apiKey() {
  return sessionStorage.getItem(KEY_NAME);
}

export function setApiKey(key) {
  sessionStorage.setItem(KEY_NAME, key);
}

export function forgetApiKey() {
  sessionStorage.removeItem(KEY_NAME);
}

/** Where the API lives: the path the console was served under, less "/console" (a stage prefix stays). */
export function apiBase() {
  return location.pathname.replace(/\/console\/?(?:index\.html)?$/, "");
}

export function apiUrl(path, params = {}) {
  const url = new URL(apiBase() + path, location.origin);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, String(value));
  }
  return url;
}

/** One readable line from an error body: 422 detail lists, {error, message}, or the status. */
export function describeError(status, body) {
  if (body && Array.isArray(body.detail)) {
    const parts = body.detail.map((item) => {
      const loc = (item.loc || []).filter((p) => !["query", "path", "body"].includes(p)).join(".");
      return `${loc || "request"}: ${item.msg || item.type || "invalid"}`;
    });
    if (parts.length) return parts.join("; ");
  }
  if (body && typeof body.message === "string") return body.message;
  if (body && typeof body.detail === "string") return body.detail;
  if (status === 401) return "the API key was refused";
  if (status === 404) return "not found";
  return `the API answered ${status}`;
}

export async function getJson(path, params = {}) {
  let response;
  try {
    response = await fetch(apiUrl(path, params), {
      headers: { "X-API-Key": apiKey() || "", Accept: "application/json" },
      credentials: "omit",
      cache: "no-store",
    });
  } catch (error) {
    throw new ApiError(0, `cannot reach the API (${error.message})`, null);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) throw new ApiError(response.status, describeError(response.status, body), body);
  return body;
}

export const listEvents = (params) => getJson(EVENTS, params);
/** The event a provider knows by this id (one read by key), or null. */
export async function findEvent(source, sourceEventId) {
  const body = await getJson(EVENTS, { source, source_event_id: sourceEventId });
  return body.events[0] || null;
}
export const getEvent = (id) => getJson(`${EVENTS}/${encodeURIComponent(id)}`);
export const aggregate = (params) => getJson(`${EVENTS}/aggregate`, params);

export async function correlation(id, { maxPages = 10 } = {}) {
  const events = [];
  let offset = 0;
  let total = 0;
  for (let page = 0; page < maxPages; page += 1) {
    const body = await getJson(`${EVENTS}/correlation/${encodeURIComponent(id)}`, { limit: 100, offset });
    events.push(...body.events);
    total = body.total;
    if (!body.hasNext || body.events.length === 0) break;
    offset += body.events.length;
  }
  return { events, total };
}

/** The event's artifacts, or null when the API offers no artifacts for it. */
export async function artifacts(id) {
  try {
    const body = await getJson(`${EVENTS}/${encodeURIComponent(id)}/artifacts`);
    return Array.isArray(body) ? body : body.artifacts || [];
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}

/**
 * Download one artifact. The API answers its download path with a 302 to a short-lived presigned
 * URL of our copy; a link cannot carry X-API-Key, so the key rides for this one request in the
 * API's vai_token cookie, scoped to the event's artifacts path, same-site only, for a minute.
 */
export function downloadArtifact(downloadPath, name) {
  const path = apiBase() + downloadPath;
  const scope = path.replace(/\/\d+$/, "");
  const secure = location.protocol === "https:" ? "; Secure" : "";
  const cookie = (value, age) =>
    `vai_token=${encodeURIComponent(value)}; Path=${scope}; Max-Age=${age}; SameSite=Strict${secure}`;
  document.cookie = cookie(apiKey() || "", 60);
  const link = document.createElement("a");
  link.href = path;
  link.download = name || "";
  link.rel = "noopener";
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => {
    document.cookie = cookie("", 0);
  }, 10000);
}
