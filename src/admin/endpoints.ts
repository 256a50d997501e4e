import { endpointUrlProblem, type Kept, type Signed, withRotatedSecret } from "../config/endpoint";
import { generateSecret } from "../delivery/signature";
import type { ErrorCode } from "../errors";
import { invalid } from "./validate";

/**
 * Secrets are write-only: read back, only the secret's last 4 characters show (enough to tell a rotation
 * happened), and header values are hidden, since they often carry credentials for the endpoint.
 */
export function masked<T extends Signed & { headers?: Record<string, string> | undefined }>(
  id: string,
  endpoint: T,
): Record<string, unknown> {
  const headers = endpoint.headers && Object.fromEntries(Object.keys(endpoint.headers).map((name) => [name, "****"]));
  const previousSecrets = endpoint.previousSecrets?.map(({ expiresAt }) => ({ expiresAt }));
  return {
    id,
    ...endpoint,
    secret: `whsec_****${endpoint.secret.slice(-4)}`,
    ...(headers && { headers }),
    ...(previousSecrets && { previousSecrets }),
  };
}

/**
 * The stored endpoint a PUT makes of its input. Without `secret`, a new endpoint gets a generated one (returned
 * as `shown`, the one time it is seen) and an existing one keeps its own; a new secret on an existing endpoint
 * rotates it, the old one signing too for the grace period.
 */
export function fromInput<I extends { secret?: string | undefined; enabled?: boolean | undefined }>(
  input: I,
  existing: Kept | undefined,
  nowMs: number,
): { value: Omit<I, "secret" | "enabled"> & Kept; shown?: string } {
  const now = new Date(nowMs).toISOString();
  const secret = input.secret ?? existing?.secret ?? generateSecret();
  const generated = secret !== input.secret && secret !== existing?.secret;
  const saved = {
    ...input,
    secret: existing?.secret ?? secret,
    previousSecrets: existing?.previousSecrets,
    enabled: input.enabled ?? true,
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  };
  const value = withRotatedSecret(saved, secret, nowMs);
  return generated ? { value, shown: secret } : { value };
}

/** `existing` with a fresh secret (returned once, as `shown`); the previous one signs on for the grace period. */
export function rotated<T extends Kept>(existing: T, nowMs: number): { value: T; shown: string } {
  const secret = generateSecret();
  return {
    value: { ...withRotatedSecret(existing, secret, nowMs), updatedAt: new Date(nowMs).toISOString() },
    shown: secret,
  };
}

/**
 * Refuses (422 `code`, naming `url`) an endpoint URL its schema accepts but this relay must not call: loopback
 * when the relay is not running locally, or the relay itself. Both are told by the admin request's own URL.
 */
export function checkEndpointUrl(code: ErrorCode, what: string, url: string, requestUrl: string): void {
  const problem = endpointUrlProblem(url, requestUrl);
  if (problem) throw invalid(code, `invalid ${what}`, [{ code: "custom", path: ["url"], message: problem }]);
}
