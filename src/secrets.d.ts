// Secrets are not in wrangler.toml, so `wrangler types` cannot see them; declared here once.
declare namespace Cloudflare {
  interface Env {
    /** `{"<SdkAppid>": {"token": "<callback token>"}}`; `token` optional. */
    TENCENT_APPS?: string;
    /** `{"<AppKey>": {"secret": "<AppSecret>"}}`. */
    NETEASE_APPS?: string;
    /** Bearer token of the admin API; when unset the admin API is closed. */
    ADMIN_TOKEN?: string;
  }
}
declare namespace Cloudflare {
  interface Env {
    /** Optional Analytics Engine dataset for counters; see README "Observability". */
    METRICS?: AnalyticsEngineDataset;
  }
}
