import * as z from "zod/mini";

/**
 * Field schemas shared by every provider catalogue.
 *
 * The providers' documentation and their real traffic disagree on JSON types (Tencent sends `EventTime` as a
 * number or a string, NetEase sends most numbers as strings, and flips `eventType` between the two), so every
 * numeric field accepts both forms. Validation never transforms: customers receive the body exactly as sent.
 */

/** An integer sent as a JSON number or as a decimal string ("可转为 Long"). */
export const int = z.union([z.int(), z.string().check(z.regex(/^-?\d+$/))]);

/** A boolean sent as JSON `true`/`false` or as the strings "true"/"false"/"0"/"1". */
export const bool = z.union([z.boolean(), z.enum(["true", "false", "0", "1"])]);

/** Any JSON value; for fields documented as "string or object" (NetEase `attach`) or left open by the docs. */
export const json = z.unknown();

/** An object that keeps every field it does not name: providers add fields without notice. */
export const record = z.looseObject;

/** A non-empty string, for identifiers we route or dedupe on. */
export const id = z.string().check(z.minLength(1));

/** An optional field. */
export const opt = z.optional;

/** An array of T. */
export const list = z.array;

/** Where a payload's schema is registered: one entry per documented command / eventType. */
export interface CatalogueEntry {
  /** Zod schema of the callback body. */
  readonly schema: z.ZodMiniType;
  /** "before" = the provider waits for a verdict (can allow/deny); "after" = a notification of a fact. */
  readonly phase: "before" | "after";
  /** Short human name, shown in logs and docs (e.g. "group dismissed"). */
  readonly title: string;
}

/**
 * Looks a key up in a table's own entries only. Commands and eventTypes come from the request, and a plain
 * object lookup of `constructor` or `toString` would return Object.prototype's function instead of nothing.
 */
export function lookup<T>(table: Readonly<Record<string | number, T>>, key: string | number): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
