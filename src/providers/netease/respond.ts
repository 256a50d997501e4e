import type { RelayError } from "../../errors";

/** NetEase 抄送 success: only the status counts (200 within 5 s). */
export function neteaseCcAck(): Response {
  return Response.json({ code: 200 });
}

/** NetEase 第三方回调 success: allow the action, unmodified (the relay is asynchronous). */
export function neteaseCallbackAck(): Response {
  return Response.json({ errCode: 0 });
}

/**
 * NetEase error answer, in the `{code, desc}` shape of NetEase's own API. Never `errCode: 1`, which NetEase would
 * read as "deny the action"; a non-200 makes it apply the console's default policy instead.
 */
export function neteaseReject(err: RelayError, requestId: string): Response {
  return Response.json({ code: err.status, desc: `${err.code}: ${err.message}`, requestId }, { status: err.status });
}
