/** Secrets and vars the tests run with (workerd tests and the end-to-end dev server alike). */
export const TENCENT_APP = "1400000001";
export const TENCENT_TOKEN_APP = "1400000002";
export const TENCENT_TOKEN = "tencent-callback-token";
export const NETEASE_APP = "netease-app-key-1";
export const NETEASE_SECRET = "netease-app-secret-1";
export const ADMIN_TOKEN = "test-admin-token-0123456789";

export const TEST_BINDINGS = {
  // TENCENT_APP opts out of signatures, so the tests can post unsigned callbacks as a console without 回调鉴权 does.
  TENCENT_APPS: JSON.stringify({
    [TENCENT_APP]: { allowUnsigned: true },
    [TENCENT_TOKEN_APP]: { token: TENCENT_TOKEN },
  }),
  NETEASE_APPS: JSON.stringify({ [NETEASE_APP]: { secret: NETEASE_SECRET, channels: ["cc", "callback"] } }),
  ADMIN_TOKEN,
  RETRY_SCHEDULE_SECONDS: "1,2,3",
  TARGETS_CACHE_TTL_SECONDS: "0",
  // Every log line is produced in tests, so the no-secret-in-logs checks see them all.
  LOG_LEVEL: "info",
};
