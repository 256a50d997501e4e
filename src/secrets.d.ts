// Secrets and optional bindings are not in wrangler.toml, so `wrangler types` cannot see them; declared here once.
// Since wrangler 4.16x the global `Env` and `Cloudflare.Env` both extend a generated base rather than each other,
// so each is extended explicitly: code typed either way sees them.
interface ImrelaySecrets {
  /** `{"<SdkAppid>": {"token": "<callback token>"} | {"allowUnsigned": true}}`, optional `allowIps`; see src/env.ts. */
  TENCENT_APPS?: string;
  /** `{"<AppKey>": {"secret": "<AppSecret>", "channels": ["cc" | "callback", …]}}`, optional `allowIps`. */
  NETEASE_APPS?: string;
  /** Bearer token of the admin API (at least 16 characters); when unset the admin API is closed. */
  ADMIN_TOKEN?: string;
  /** Optional Analytics Engine dataset for counters; see README "Observability". */
  METRICS?: AnalyticsEngineDataset;
}
interface Env extends ImrelaySecrets {}
declare namespace Cloudflare {
  interface Env extends ImrelaySecrets {}
}
