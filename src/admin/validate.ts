import { type ErrorCode, RelayError } from "../errors";

/** Whether a parsed JSON value has a `__proto__` key at any depth; iterative, so any nesting is safe. */
function hasProtoKey(root: unknown): boolean {
  const stack = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== "object" || value === null) continue;
    if (!Array.isArray(value) && Object.hasOwn(value, "__proto__")) return true;
    for (const child of Object.values(value)) stack.push(child);
  }
  return false;
}

/**
 * Reads a JSON request body of at most 64 KiB; an empty body reads as `{}`. A `__proto__` key is refused with
 * `code`: zod skips such keys (a prototype-pollution guard), which would drop e.g. a header without a word.
 */
export async function readJson(req: Request, code: ErrorCode = "INVALID_REQUEST"): Promise<unknown> {
  const text = await req.text();
  if (text.length > 65_536) throw new RelayError("PAYLOAD_TOO_LARGE", "admin request bodies are limited to 64 KiB");
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RelayError("INVALID_JSON", "body is not valid JSON");
  }
  if (hasProtoKey(value)) throw new RelayError(code, "a field named __proto__ is not allowed");
  return value;
}

/** The subset of a zod issue this module reads. */
type Issue = {
  code: string;
  path: readonly PropertyKey[];
  message: string;
  expected?: unknown;
  keys?: readonly string[];
  values?: readonly unknown[];
  minimum?: unknown;
  maximum?: unknown;
  origin?: string;
  format?: string;
  issues?: readonly Issue[];
};

/**
 * zod/mini ships no locale (that keeps ~90 KiB out of the bundle), so its built-in messages read "Invalid input".
 * This says what was wrong from the issue's own fields; custom messages (URL rules, secret format) pass through.
 */
function describe(issue: Issue): string {
  const size =
    issue.origin === "string" || issue.origin === "array"
      ? ` ${issue.origin === "string" ? "characters" : "items"}`
      : "";
  switch (issue.code) {
    case "unrecognized_keys":
      return `unknown field${issue.keys?.length === 1 ? "" : "s"}: ${issue.keys?.join(", ")}`;
    case "invalid_type":
      return issue.message.includes("required") || issue.expected === undefined
        ? "is required or has the wrong type"
        : `must be ${issue.expected}`;
    case "too_small":
      return `must be at least ${issue.minimum}${size}`;
    case "too_big":
      return `must be at most ${issue.maximum}${size}`;
    case "invalid_value":
      return `must be one of ${issue.values?.map((v) => JSON.stringify(v)).join(", ")}`;
    case "invalid_format":
      return issue.message === "Invalid input" ? `must be a valid ${issue.format}` : issue.message;
    case "invalid_key":
    case "invalid_element":
    case "invalid_union": {
      const inner = issue.issues?.[0];
      return inner ? describe(inner) : "is invalid";
    }
    default:
      return issue.message === "Invalid input" ? "is invalid" : issue.message;
  }
}

/** A validation failure that names every offending field and why; never echoes input values. */
export function invalid(code: ErrorCode, message: string, issues: readonly Issue[]): RelayError {
  const list = issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join("."), message: describe(i) }));
  const text = list.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ");
  return new RelayError(code, `${message}: ${text}`, { issues: list });
}
