import { ERRORS, type RelayError } from "../../errors";
import { tencentDecide } from "./decide";

const ALLOW = { decision: "allow" } as const;

/**
 * Tencent's answer when no decider wants the callback: allow, unmodified (ErrorCode 0, no MsgBody). The friend
 * before-callbacks decide per target account, so each gets an explicit allow; the chatbot signal callback
 * requires `RspData`, answered empty.
 */
export function tencentAck(command: string, payload: Record<string, unknown>): Response {
  return Response.json(tencentDecide(command, payload, ALLOW).body);
}

/** Tencent's error answer: `ActionStatus: "FAIL"`, a non-zero ErrorCode and a readable ErrorInfo. */
export function tencentReject(err: RelayError, requestId: string): Response {
  return Response.json(
    {
      ActionStatus: "FAIL",
      ErrorCode: ERRORS[err.code].num,
      ErrorInfo: `${err.code}: ${err.message}`,
      RequestId: requestId,
    },
    { status: err.status },
  );
}
