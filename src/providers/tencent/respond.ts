import { ERRORS, type RelayError } from "../../errors";

const OK = { ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "" } as const;

function allowEach(items: unknown): { To_Account: string; ResultCode: 0; ResultInfo: "" }[] {
  if (!Array.isArray(items)) return [];
  return items.flatMap((item) => {
    const to = (item as { To_Account?: unknown } | null)?.To_Account;
    return typeof to === "string" ? [{ To_Account: to, ResultCode: 0 as const, ResultInfo: "" as const }] : [];
  });
}

/**
 * Tencent's success answer. The relay is asynchronous, so before-callbacks are always allowed unmodified
 * (ErrorCode 0, no MsgBody). The friend before-callbacks decide per target account, so each gets an explicit
 * allow; the chatbot signal callback requires `RspData`, answered empty.
 */
export function tencentAck(command: string, payload: Record<string, unknown>): Response {
  let body: Record<string, unknown> = OK;
  if (command === "Sns.CallbackPrevFriendAdd") body = { ...OK, ResultItem: allowEach(payload.FriendItem) };
  else if (command === "Sns.CallbackPrevFriendResponse")
    body = { ...OK, ResultItem: allowEach(payload.ResponseFriendItem) };
  else if (command === "Chatbot.OnC2CSignalMessage") body = { ...OK, RspData: "" };
  return Response.json(body);
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
