import { type ErrorCode, RelayError } from "../errors";

/** Reads a JSON request body of at most 64 KiB; an empty body reads as `{}`. */
export async function readJson(req: Request): Promise<unknown> {
  const text = await req.text();
  if (text.length > 65_536) throw new RelayError("PAYLOAD_TOO_LARGE", "admin request bodies are limited to 64 KiB");
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new RelayError("INVALID_JSON", "body is not valid JSON");
  }
}

/** A validation failure that names every offending field; zod messages never echo the input values. */
export function invalid(code: ErrorCode, message: string, issues: readonly { path: readonly PropertyKey[]; message: string }[]): RelayError {
  const list = issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join("."), message: i.message }));
  return new RelayError(code, `${message}: ${list.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ")}`, { issues: list });
}
