import { LOOPBACK_NAMES } from "../net/address";

/**
 * What a failed connection was. workerd reports a refused connection, a reset and a connection closed before the
 * answer alike, as "Network connection lost." (measured under `wrangler dev` and in the workerd tests), which
 * tells a developer whose receiver is not running nothing. For a loopback target, the local development case, one
 * TCP connect tells the two apart: nothing listening is "connection refused". Elsewhere the message says what it
 * may be, without a probe: in production a probe would cost a subrequest of the lane's budget per failure.
 */
const LOST = "Network connection lost.";
/** A loopback connect is answered at once; this only bounds a host that never answers. */
const PROBE_MS = 1_000;

/** The delivery log's reason for a network error of a delivery to `url`. */
export async function networkErrorReason(url: string, message: string): Promise<string> {
  if (message !== LOST) return message;
  const { hostname, port, protocol } = new URL(url);
  if (!LOOPBACK_NAMES.has(hostname)) return "connection lost (refused, reset or closed before an answer)";
  const portNumber = Number(port || (protocol === "https:" ? 443 : 80));
  const address = `${hostname}:${portNumber}`;
  return (await accepts(hostname.replace(/^\[|\]$/g, ""), portNumber))
    ? `connection closed by ${address} before it answered`
    : `connection refused (nothing listens on ${address})`;
}

/** Whether a TCP connection to the address opens (a timeout counts as open: it was not refused). */
async function accepts(hostname: string, port: number): Promise<boolean> {
  // Imported when needed: the Node-side tools that load this module cannot resolve cloudflare:sockets.
  const { connect } = await import("cloudflare:sockets");
  const socket = connect({ hostname, port });
  // A refused socket also rejects `closed`; it is read here so that rejection is never unhandled.
  const closed = socket.closed.catch(() => undefined);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), PROBE_MS);
    });
    await Promise.race([socket.opened, timedOut]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    await socket.close().catch(() => undefined);
    await closed;
  }
}
