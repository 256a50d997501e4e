import * as z from "zod/mini";

/**
 * The console routes' answers, for OpenAPI and their types. Imported by the routes as types only, so the schemas
 * stay out of the Worker's bundle (like `toJSONSchema`, they are needed only by `npm run generate`).
 */

/** What sign-in and `GET /console/session` answer: when the session ends, and its CSRF token. */
export const SessionAnswer = z.object({ expiresAt: z.iso.datetime(), csrf: z.string() });
export type SessionAnswer = z.infer<typeof SessionAnswer>;

/** What `POST /admin/targets/:id/test` answers. */
export const TestEventAnswer = z.object({ eventId: z.string(), target: z.string() });
export type TestEventAnswer = z.infer<typeof TestEventAnswer>;
